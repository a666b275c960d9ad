package io.rollout.schemas.kafka;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;

/**
 * Kafka client settings passed through unchanged from the command line, so SASL, SSL and
 * any other client option work without code changes. Precedence, lowest first: the
 * properties file, {@code key=value} pairs, the bootstrap flag.
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
        Properties props = new Properties();
        if (file != null) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(in);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read Kafka properties file " + file + ": " + e.getMessage(), e);
            }
        }
        props.putAll(pairs);
        if (bootstrap != null) {
            props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        }
        String servers = props.getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || servers.isBlank()) {
            throw new IllegalArgumentException("no Kafka bootstrap address: pass --bootstrap HOST:PORT");
        }
        for (String server : servers.split(",")) {
            if (!server.strip().matches(".+:\\d{1,5}")) {
                throw new IllegalArgumentException("bad bootstrap address '" + server.strip() + "': expected HOST:PORT");
            }
        }
        return props;
    }
}
