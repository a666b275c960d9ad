package io.rollout.learner.scheduler;

import java.util.Map;
import java.util.Objects;

/**
 * What a {@link SchedulerService} resumes from: the scheduler's state and the Kafka
 * positions consistent with it. Plain records and maps, so Jackson writes and reads it.
 *
 * @param state          the scheduler's state
 * @param droppedOffsets per partition of rollout.dropped, the next offset to read: every drop
 *     before it is reflected in {@code state}
 * @param taskEndOffsets per partition of rollout.tasks, the end offset when the state was
 *     taken: every task the state knows of is before it, every task after it is not in the state
 */
public record SchedulerCheckpoint(SchedulerState state, Map<Integer, Long> droppedOffsets,
        Map<Integer, Long> taskEndOffsets) {

    public SchedulerCheckpoint {
        Objects.requireNonNull(state, "state");
        droppedOffsets = Map.copyOf(droppedOffsets);
        taskEndOffsets = Map.copyOf(taskEndOffsets);
    }
}
