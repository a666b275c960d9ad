package io.rollout.learner.scheduler;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * Settings of the {@link TaskScheduler}.
 *
 * @param maxInFlight  K: groups dispatched and not yet trained on, discarded or given up
 * @param batchGroups  B: complete groups per training batch (one policy version each)
 * @param maxStaleness versions a group's policy may lag the trainer when it is trained
 * @param maxRetries   re-queues per group (after drops or timeouts) before it is abandoned
 * @param taskTimeout  a group in flight longer than this is re-queued as a new attempt, so a
 *     task an actor lost cannot hold a slot forever; {@link Duration#ZERO} disables it
 * @param runId        prefix of the group ids, {@code <runId>-<index>}; letters, digits, '.', '_', '-'
 */
public record SchedulerConfig(int maxInFlight, int batchGroups, int maxStaleness, int maxRetries,
        Duration taskTimeout, String runId) {

    public SchedulerConfig {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
        }
        if (batchGroups < 1) {
            throw new IllegalArgumentException("batchGroups must be >= 1, got " + batchGroups);
        }
        if (maxStaleness < 0) {
            throw new IllegalArgumentException("maxStaleness must be >= 0, got " + maxStaleness);
        }
        if (maxRetries < 0) {
            throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
        }
        if (taskTimeout == null || taskTimeout.isNegative()) {
            throw new IllegalArgumentException("taskTimeout must be >= 0 (0 disables it), got " + taskTimeout);
        }
        if (runId == null || !runId.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("runId must be non-empty letters, digits, '.', '_' or '-', got '"
                    + runId + "'");
        }
    }

    /** K=16, B=8, max staleness 1, 3 retries, 30 minute task timeout, run id {@code run}. */
    public static SchedulerConfig defaults() {
        return new SchedulerConfig(16, 8, 1, 3, Duration.ofMinutes(30), "run");
    }

    /** Most groups in flight at once: {@code min(maxInFlight, (maxStaleness + 1) * batchGroups)}. */
    public int admissionLimit() {
        return (int) Math.min(maxInFlight, (maxStaleness + 1L) * batchGroups);
    }

    /** {@code <runId>-<index>}, the index zero-padded to 8 digits, e.g. {@code run-00000042}. */
    public String groupId(long index) {
        if (index < 0) {
            throw new IllegalArgumentException("group index must be >= 0, got " + index);
        }
        return String.format("%s-%08d", runId, index);
    }

    /** The index of a group id of this run, or empty if the id is not one {@link #groupId} makes. */
    public OptionalLong indexOf(String groupId) {
        String prefix = runId + "-";
        if (groupId == null || !groupId.startsWith(prefix)) {
            return OptionalLong.empty();
        }
        String digits = groupId.substring(prefix.length());
        if (digits.length() < 8 || digits.length() > 18 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return OptionalLong.empty();
        }
        long index = Long.parseLong(digits);
        return groupId(index).equals(groupId) ? OptionalLong.of(index) : OptionalLong.empty();
    }
}
