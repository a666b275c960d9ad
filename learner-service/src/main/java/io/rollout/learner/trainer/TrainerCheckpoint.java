package io.rollout.learner.trainer;

import io.rollout.learner.scheduler.SchedulerCheckpoint;
import java.util.List;
import java.util.Map;

/**
 * {@code checkpoint.json}: everything besides the adapter and the optimizer tensors. All of the
 * trainer's randomness derives from {@code seed}, the version and the optimizer step, so these
 * three are its RNG state.
 *
 * @param sampleOffsets per partition of train.samples, the offset to resume reading from
 * @param doneGroups groups already trained that a replay from those offsets meets again
 * @param scheduler the scheduler's state and offsets, or null when no scheduler ran
 */
public record TrainerCheckpoint(int format, long version, long optimizerSteps, long seed, long createdAtMs,
        Map<Integer, Long> sampleOffsets, List<SampleAssembler.DoneGroup> doneGroups, SchedulerCheckpoint scheduler) {

    public static final int FORMAT = 1;
    public static final String FILE = "checkpoint.json";
    public static final String ADAPTER_DIR = "adapter";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
}
