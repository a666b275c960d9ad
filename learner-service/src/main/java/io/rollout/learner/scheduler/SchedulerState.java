package io.rollout.learner.scheduler;

import io.rollout.records.Task;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Everything a {@link TaskScheduler} needs to continue a run: a tree of plain records that
 * Jackson writes and reads as JSON without configuration.
 *
 * @param nextIndex index of the next new group
 * @param inFlight  groups dispatched and not yet trained, discarded or given up, in dispatch order
 * @param pending   re-queued groups waiting for a slot, in order; their {@code attempt} is the one to dispatch
 * @param counters  the run's counters
 */
public record SchedulerState(long nextIndex, List<Group> inFlight, List<Group> pending, SchedulerCounters counters) {

    public SchedulerState {
        inFlight = List.copyOf(inFlight);
        pending = List.copyOf(pending);
        Objects.requireNonNull(counters, "counters");
    }

    /**
     * One group: its identity, attempt and re-queue count, when its current attempt was
     * dispatched, and the task fields a re-queue repeats.
     */
    public record Group(String groupId, long index, int attempt, int requeues, long dispatchedAtMs, String env,
            Map<String, String> envConfig, long seed, int groupSize, int maxSteps) {

        public Group {
            Objects.requireNonNull(groupId, "groupId");
            Objects.requireNonNull(env, "env");
            envConfig = Collections.unmodifiableMap(new TreeMap<>(envConfig));
        }

        /** The task of this group's current attempt. */
        Task toTask(long policyVersion, long createdAtMs) {
            return Task.newBuilder()
                    .setGroupId(groupId)
                    .setEnv(env)
                    .setEnvConfig(new TreeMap<>(envConfig))
                    .setSeed(seed)
                    .setGroupSize(groupSize)
                    .setMaxSteps(maxSteps)
                    .setAttempt(attempt)
                    .setPolicyVersion(policyVersion)
                    .setCreatedAtMs(createdAtMs)
                    .build();
        }

        Group dispatchedAt(long ms) {
            return new Group(groupId, index, attempt, requeues, ms, env, envConfig, seed, groupSize, maxSteps);
        }

        Group withAttempt(int newAttempt, int newRequeues, long ms) {
            return new Group(groupId, index, newAttempt, newRequeues, ms, env, envConfig, seed, groupSize, maxSteps);
        }

        static Group of(Task task, long index) {
            return new Group(task.getGroupId(), index, task.getAttempt(), task.getAttempt(), task.getCreatedAtMs(),
                    task.getEnv(), task.getEnvConfig(), task.getSeed(), task.getGroupSize(), task.getMaxSteps());
        }
    }
}
