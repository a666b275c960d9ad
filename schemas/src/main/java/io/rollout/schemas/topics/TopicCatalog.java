package io.rollout.schemas.topics;

import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.AvroSerde;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The pipeline's topics, typed: name (with an optional run prefix), key and value
 * serdes, partitions and configs. Every service takes its topics from here, so a name,
 * a serde or a setting is defined once.
 */
public final class TopicCatalog {

    public static final String TASKS = "rollout.tasks";
    public static final String STEPS = "rollout.steps";
    public static final String SAMPLES = "train.samples";
    public static final String WEIGHTS = "policy.weights";
    public static final String DROPPED = "rollout.dropped";
    public static final String DLQ = "rollout.dlq";

    /**
     * Largest record policy.weights accepts. Weight chunks must stay below it; producers of
     * that topic raise {@code max.request.size} to match.
     */
    public static final int WEIGHTS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private static final Map<String, Integer> DEFAULT_PARTITIONS = Map.of(
            TASKS, 6, STEPS, 6, SAMPLES, 6, WEIGHTS, 1, DROPPED, 1, DLQ, 1);

    private static final String WEEK_MS = Long.toString(Duration.ofDays(7).toMillis());
    private static final String MONTH_MS = Long.toString(Duration.ofDays(30).toMillis());

    private final Topic<String, Task> tasks;
    private final Topic<String, Step> steps;
    private final Topic<String, TrainingSample> samples;
    private final Topic<String, SpecificRecord> weights;
    private final Topic<String, DroppedGroup> dropped;
    private final Topic<byte[], byte[]> dlq;

    private TopicCatalog(String prefix, Map<String, Integer> partitions) {
        Map<String, String> deleteWeek = Map.of(
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, WEEK_MS);
        tasks = new Topic<>(prefix + TASKS, Serdes.String(), AvroSerde.of(Task.class),
                partitions.get(TASKS), deleteWeek);
        steps = new Topic<>(prefix + STEPS, Serdes.String(), AvroSerde.of(Step.class),
                partitions.get(STEPS), deleteWeek);
        samples = new Topic<>(prefix + SAMPLES, Serdes.String(), AvroSerde.of(TrainingSample.class),
                partitions.get(SAMPLES), deleteWeek);
        // One partition keeps a version's chunks ahead of its manifest; compaction keeps the latest per key.
        weights = new Topic<>(prefix + WEIGHTS, Serdes.String(),
                AvroSerde.oneOf(WeightManifest.class, WeightChunk.class), partitions.get(WEIGHTS),
                Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
                        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(WEIGHTS_MAX_MESSAGE_BYTES)));
        dropped = new Topic<>(prefix + DROPPED, Serdes.String(), AvroSerde.of(DroppedGroup.class),
                partitions.get(DROPPED), deleteWeek);
        dlq = new Topic<>(prefix + DLQ, Serdes.ByteArray(), Serdes.ByteArray(), partitions.get(DLQ),
                Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                        TopicConfig.RETENTION_MS_CONFIG, MONTH_MS));
    }

    /** The catalog with default names and partition counts. */
    public static TopicCatalog defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Group id → Task; actors consume it as one consumer group. */
    public Topic<String, Task> tasks() {
        return tasks;
    }

    /** Group id → Step; keyed by group so one group stays on one partition. */
    public Topic<String, Step> steps() {
        return steps;
    }

    /** Group id → TrainingSample, written by the advantage app, read by the trainer. */
    public Topic<String, TrainingSample> samples() {
        return samples;
    }

    /** Adapter name / chunk → WeightManifest or WeightChunk; compacted. */
    public Topic<String, SpecificRecord> weights() {
        return weights;
    }

    /** Group id → DroppedGroup, for the scheduler to re-queue. */
    public Topic<String, DroppedGroup> dropped() {
        return dropped;
    }

    /** Original key → original bytes, with headers naming the source and the error. */
    public Topic<byte[], byte[]> dlq() {
        return dlq;
    }

    public List<Topic<?, ?>> all() {
        return List.of(tasks, steps, samples, weights, dropped, dlq);
    }

    /** Builds a catalog; validates every option in {@link #build()}. */
    public static final class Builder {
        private String prefix = "";
        private final Map<String, Integer> partitions = new HashMap<>(DEFAULT_PARTITIONS);

        private Builder() {
        }

        /** A run prefix put in front of every topic name, e.g. {@code run7.}. */
        public Builder prefix(String prefix) {
            if (prefix == null || !prefix.matches("[A-Za-z0-9._-]*")) {
                throw new IllegalArgumentException("topic prefix '" + prefix
                        + "' may only contain letters, digits, '.', '_' and '-'");
            }
            this.prefix = prefix;
            return this;
        }

        /** Partition count of one topic, by its unprefixed name. */
        public Builder partitions(String topic, int count) {
            if (!DEFAULT_PARTITIONS.containsKey(topic)) {
                throw new IllegalArgumentException("unknown topic '" + topic + "'; the catalog has "
                        + DEFAULT_PARTITIONS.keySet().stream().sorted().toList());
            }
            if (count < 1) {
                throw new IllegalArgumentException("partitions of " + topic + " must be >= 1, got " + count);
            }
            if (topic.equals(WEIGHTS) && count != 1) {
                throw new IllegalArgumentException(WEIGHTS + " must have exactly 1 partition so that a version's"
                        + " chunks stay ahead of its manifest, got " + count);
            }
            partitions.put(topic, count);
            return this;
        }

        public TopicCatalog build() {
            return new TopicCatalog(prefix, partitions);
        }
    }
}
