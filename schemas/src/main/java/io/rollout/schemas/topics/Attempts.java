package io.rollout.schemas.topics;

/**
 * The attempt numbers of a group. The scheduler numbers its dispatches of a group
 * ({@code Task.attempt}: 0, then 1, 2, ... for each re-queue). An actor publishes a group's
 * steps under a <em>delivery attempt</em> that also carries the {@code actors} consumer group's
 * generation at the time the task was delivered:
 * {@code delivery = taskAttempt << 20 | generation & 0xFFFFF}.
 *
 * <p>A task is re-delivered only after a rebalance (an actor died or left before committing
 * it), and every rebalance raises the generation, so the re-delivery publishes under a higher
 * delivery attempt than the dead one, and the advantage stage, which keeps only the highest
 * attempt of a group, never mixes the two. A re-queue by the scheduler raises the task part
 * and so outranks every delivery of the previous dispatch. After 2^20 rebalances the
 * generation part wraps; a re-delivery that then ranks below the dead attempt is ignored by
 * the advantage stage, times out there and is re-queued by the scheduler: late, not wrong.
 */
public final class Attempts {

    /** Bits of the generation part. */
    public static final int GENERATION_BITS = 20;
    /** The largest task attempt that fits: 2047. */
    public static final int MAX_TASK_ATTEMPT = (1 << (31 - GENERATION_BITS)) - 1;

    private static final int GENERATION_MASK = (1 << GENERATION_BITS) - 1;

    private Attempts() {}

    /**
     * The delivery attempt of a task at {@code taskAttempt} delivered in consumer group
     * generation {@code generation} (negative, as without a group, counts as 0).
     *
     * @throws IllegalArgumentException if {@code taskAttempt} is negative or above {@link #MAX_TASK_ATTEMPT}
     */
    public static int delivery(int taskAttempt, int generation) {
        if (taskAttempt < 0 || taskAttempt > MAX_TASK_ATTEMPT) {
            throw new IllegalArgumentException("task attempt must be in [0, " + MAX_TASK_ATTEMPT + "], got "
                    + taskAttempt);
        }
        return taskAttempt << GENERATION_BITS | Math.max(generation, 0) & GENERATION_MASK;
    }

    /** The scheduler's attempt a delivery attempt belongs to. */
    public static int taskAttempt(int deliveryAttempt) {
        return deliveryAttempt >>> GENERATION_BITS;
    }
}
