package io.rollout.weights;

import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.Partitions;
import io.rollout.schemas.topics.TopicCatalog;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.TopicPartition;

/**
 * Record keys on policy.weights, client settings and checks shared by the publisher and the reader.
 * Chunk keys are unique per version ({@code <adapter>/<version>/<index>}), so compaction
 * never removes a live version's chunks; the manifest key ({@code <adapter>/manifest}) is
 * one per adapter, so compaction keeps the newest manifest.
 */
final class Weights {

    private Weights() {
    }

    static String chunkKey(String adapter, long version, int index) {
        return adapter + "/" + version + "/" + index;
    }

    static String manifestKey(String adapter) {
        return adapter + "/manifest";
    }

    /** The version in one of {@code adapter}'s chunk keys, or -1 if the key is not one. */
    static long chunkVersion(String adapter, String key) {
        if (key == null || !key.startsWith(adapter + "/")) {
            return -1;
        }
        String[] parts = key.substring(adapter.length() + 1).split("/", -1);
        if (parts.length != 2 || !parts[0].matches("\\d{1,18}") || !parts[1].matches("\\d{1,9}")) {
            return -1;
        }
        return Long.parseLong(parts[0]);
    }

    /** An adapter name is part of every key: non-blank, at most 200 characters, no '/'. */
    static String checkAdapter(String adapter) {
        if (adapter == null || adapter.isBlank() || adapter.length() > 200 || adapter.contains("/")) {
            throw new IllegalArgumentException("adapter '" + adapter
                    + "' must be non-blank, at most 200 characters and contain no '/'");
        }
        return adapter;
    }

    /** A copy of the client properties; they must name the brokers. */
    static Properties checkKafka(Properties kafka) {
        if (kafka == null || kafka.getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "").isBlank()) {
            throw new IllegalArgumentException("kafka properties must set " + CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG
                    + " (build them with KafkaSettings.merge)");
        }
        return KafkaSettings.copy(kafka);
    }

    /**
     * Settings of a consumer that reads the whole partition by assignment: no group, no
     * commits, and fetches large enough for several chunks at once.
     */
    static Properties consumerProperties(Properties kafka) {
        Properties p = KafkaSettings.assignedConsumer(checkKafka(kafka), null);
        p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        p.putIfAbsent(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG,
                Integer.toString(2 * TopicCatalog.WEIGHTS_MAX_MESSAGE_BYTES));
        return p;
    }

    /** How long publishers and readers wait for a topic created a moment ago to appear. */
    static final Duration DEFAULT_TOPIC_WAIT = Duration.ofSeconds(30);

    static Duration checkWait(Duration wait) {
        if (wait == null || wait.isNegative()) {
            throw new IllegalArgumentException("topicWait must be a duration >= 0, got " + wait);
        }
        return wait;
    }

    /** The topic's single partition; fails if the topic does not appear within the timeout. */
    static TopicPartition partition(Consumer<?, ?> consumer, String topic, Duration timeout) {
        return Partitions.of(consumer, topic, timeout).get(0);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }
}
