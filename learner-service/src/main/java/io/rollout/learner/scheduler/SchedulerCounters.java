package io.rollout.learner.scheduler;

/**
 * What the scheduler has done so far in the run (restored with its state).
 *
 * @param dispatched tasks produced, first attempts and re-queues
 * @param requeued   groups re-queued as a new attempt, after a drop or a timeout
 * @param abandoned  groups given up after {@link SchedulerConfig#maxRetries()} re-queues
 * @param staleDrops drops ignored: of an unknown group or of another attempt than the one in flight
 * @param discarded  groups the trainer discarded as too stale
 * @param timedOut   groups in flight longer than the task timeout
 * @param trained    groups the trainer trained on
 */
public record SchedulerCounters(long dispatched, long requeued, long abandoned, long staleDrops, long discarded,
        long timedOut, long trained) {

    public static SchedulerCounters zero() {
        return new SchedulerCounters(0, 0, 0, 0, 0, 0, 0);
    }
}
