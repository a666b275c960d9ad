package io.rollout.runtime.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Kafka client settings passed through unchanged from the command line, so SASL, SSL and
 * any other client option work without code changes. Precedence, lowest first: the
 * properties file, {@code key=value} pairs, the bootstrap flag.
 *
 * <p>One set of these settings serves every client of a process; each client starts from a copy
 * ({@link #copy}, {@link #consumer}, {@link #assignedConsumer}, {@link #producer}) and adds its own,
 * with {@code put} for what it relies on and {@code putIfAbsent} for what the settings may change.
 */
public final class KafkaSettings {

    private KafkaSettings() {
    }

    /**
     * Merges the sources into one set of client properties.
     *
     * @param file      a Java properties file, or null
     * @param pairs     settings given on the command line
     * @param bootstrap {@code bootstrap.servers}, or null to keep the file's or pairs' value
     * @throws IllegalArgumentException if the file cannot be read or no bootstrap address is set
     */
    public static Properties merge(Path file, Map<String, String> pairs, String bootstrap) {
        Properties props = read(file, pairs, bootstrap);
        checkBootstrap(props);
        return props;
    }

    /**
     * The file's settings, then {@code pairs} over them, then {@code bootstrap} if not null, as
     * {@link #merge} but with no bootstrap address required: for a command that starts its own
     * broker when none is named.
     *
     * @throws IllegalArgumentException if the file cannot be read
     */
    public static Properties read(Path file, Map<String, String> pairs, String bootstrap) {
        Properties props = new Properties();
        if (file != null) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(in);
            } catch (IOException e) {
                throw new IllegalArgumentException("--kafka-config: cannot read Kafka properties file " + file + ": "
                        + e.getMessage(), e);
            }
        }
        props.putAll(pairs);
        if (bootstrap != null) {
            props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        }
        return props;
    }

    /**
     * @throws IllegalArgumentException if {@code props} has no bootstrap address or one that is not HOST:PORT
     */
    public static void checkBootstrap(Properties props) {
        String servers = props.getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || servers.isBlank()) {
            throw new IllegalArgumentException("no Kafka bootstrap address: pass --bootstrap HOST:PORT");
        }
        for (String server : servers.split(",")) {
            if (!server.strip().matches(".+:\\d{1,5}")) {
                throw new IllegalArgumentException("bad bootstrap address '" + server.strip() + "': expected HOST:PORT");
            }
        }
    }

    /** A copy of {@code base}, for one client to add its own settings to without changing the shared ones. */
    public static Properties copy(Properties base) {
        Properties p = new Properties();
        p.putAll(base);
        return p;
    }

    /**
     * A consumer's settings: a copy of {@code base} in consumer group {@code groupId}, or, when that
     * is null, in none ({@code group.id} of {@code base} removed: the consumer reads partitions by
     * assignment), and with {@code client.id} {@code clientId} unless {@code base} sets one (none
     * added when null).
     */
    public static Properties consumer(Properties base, String groupId, String clientId) {
        Properties p = copy(base);
        if (groupId == null) {
            p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        } else {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        if (clientId != null) {
            p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        }
        return p;
    }

    /**
     * Settings of a consumer that reads by assignment and keeps its positions itself: no group
     * ({@link #consumer consumer(base, null, clientId)}) and {@code enable.auto.commit=false} over
     * {@code base}.
     */
    public static Properties assignedConsumer(Properties base, String clientId) {
        Properties p = consumer(base, null, clientId);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return p;
    }

    /**
     * An idempotent producer's settings: a copy of {@code base} with {@code acks=all} and
     * {@code enable.idempotence=true} over it, so a send retried after a lost answer is written
     * once, and with {@code client.id} {@code clientId} unless {@code base} sets one (none added
     * when null).
     */
    public static Properties producer(Properties base, String clientId) {
        Properties p = copy(base);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        if (clientId != null) {
            p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        }
        return p;
    }
}
