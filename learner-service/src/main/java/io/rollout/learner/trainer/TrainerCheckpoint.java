package io.rollout.learner.trainer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.SchedulerCheckpoint;
import io.rollout.policy.Policy;
import io.rollout.policy.safetensors.SafetensorsFile;
import io.rollout.policy.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code checkpoint.json}: everything besides the adapter and the optimizer tensors. All of the
 * trainer's randomness derives from {@code seed}, the version and the optimizer step, so these
 * three are its RNG state.
 *
 * @param sampleOffsets per partition of train.samples, the offset to resume reading from
 * @param doneGroups format 1 only: groups trained after those offsets (format 2 keeps {@code finishedGroups})
 * @param finishedGroups every group id trained or discarded in the run (format 2)
 * @param source where {@code sampleOffsets} point: the cluster and topic they were read from
 *     (format 2; offsets mean nothing elsewhere)
 * @param scheduler the scheduler's state and offsets, or null when no scheduler ran
 */
public record TrainerCheckpoint(int format, long version, long optimizerSteps, long seed, long createdAtMs,
        Map<Integer, Long> sampleOffsets, List<SampleAssembler.DoneGroup> doneGroups,
        FinishedGroups.Snapshot finishedGroups, SampleSource source, SchedulerCheckpoint scheduler) {

    /** The cluster and topic a checkpoint's sample offsets belong to. */
    public record SampleSource(String clusterId, String topic, String topicId, int partitions) {

        /** Why offsets of this source cannot be used to read {@code current}, or null if they can. */
        public String mismatch(SampleSource current) {
            if (!clusterId.equals(current.clusterId)) {
                return "it was written against Kafka cluster " + clusterId + ", this is cluster " + current.clusterId;
            }
            if (!topic.equals(current.topic)) {
                return "it read topic " + topic + ", this trainer reads " + current.topic;
            }
            if (!topicId.equals(current.topicId)) {
                return "topic " + topic + " was deleted and created again since (topic id " + topicId + ", now "
                        + current.topicId + ")";
            }
            if (partitions > current.partitions) {
                return "topic " + topic + " had " + partitions + " partitions, it has " + current.partitions;
            }
            return null;
        }
    }

    public static final int FORMAT = 2;
    private static final int OLDEST_FORMAT = 1;
    public static final String FILE = "checkpoint.json";
    public static final String ADAPTER_DIR = "adapter";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Writes this record with the trainer's adapter and optimizer state as checkpoint {@code version()}. */
    public Path writeTo(CheckpointStore store, PolicyTrainer trainer) {
        return store.write(version, tmp -> {
            Path adapterDir = tmp.resolve(ADAPTER_DIR);
            Files.createDirectories(adapterDir);
            trainer.adapter().save(adapterDir);
            SafetensorsWriter.write(tmp.resolve(OPTIMIZER_FILE), trainer.state(), Map.of("format", "pt"));
            JSON.writeValue(tmp.resolve(FILE).toFile(), this);
        });
    }

    /** Reads {@code checkpoint.json} of a checkpoint directory. */
    public static TrainerCheckpoint read(Path dir) {
        TrainerCheckpoint ckpt;
        try {
            ckpt = JSON.readValue(dir.resolve(FILE).toFile(), TrainerCheckpoint.class);
        } catch (IOException e) {
            throw new UncheckedIOException("unreadable checkpoint " + dir.resolve(FILE), e);
        }
        if (ckpt.format() < OLDEST_FORMAT || ckpt.format() > FORMAT) {
            throw new IllegalStateException("checkpoint " + dir + " has format " + ckpt.format() + ", this trainer reads "
                    + OLDEST_FORMAT + " to " + FORMAT);
        }
        return ckpt;
    }

    /** A trainer with the checkpoint's adapter, optimizer moments and GGPO state. */
    public PolicyTrainer restoreTrainer(Path dir, Policy policy, TrainerConfig config) {
        PolicyTrainer trainer = new PolicyTrainer(policy, policy.loadAdapter(dir.resolve(ADAPTER_DIR)), config);
        try {
            trainer.restore(SafetensorsFile.open(dir.resolve(OPTIMIZER_FILE)), optimizerSteps);
            return trainer;
        } catch (RuntimeException e) {
            trainer.close();
            throw e;
        }
    }
}
