package io.rollout.schemas.topics;

/**
 * The attempt numbers of a group. The scheduler numbers its dispatches of a group
 * ({@code Task.attempt}: 0, then 1, 2, ... for each re-queue). An actor publishes a group's
 * steps under a <em>delivery attempt</em> that also carries how many times the task's
 * partition has been assigned to an actor (a counter the actors keep in the committed offset's
 * metadata): {@code delivery = taskAttempt << 20 | assignment & 0xFFFFF}.
 *
 * <p>A task is re-delivered only after its partition moved (the actor holding it died or left
 * before committing it), and every assignment raises the counter, so the re-delivery publishes
 * under a higher delivery attempt than the dead one, and the advantage stage, which keeps only
 * the highest attempt of a group, never mixes the two. A re-queue by the scheduler raises the
 * task part and so outranks every delivery of the previous dispatch. After 2^20 assignments of
 * one partition the counter part wraps; a re-delivery that then ranks below the dead attempt is
 * ignored by the advantage stage, times out there and is re-queued by the scheduler: late, not
 * wrong.
 */
public final class Attempts {

    /** Bits of the assignment part. */
    public static final int ASSIGNMENT_BITS = 20;
    /** The largest task attempt that fits: 2047. */
    public static final int MAX_TASK_ATTEMPT = (1 << (31 - ASSIGNMENT_BITS)) - 1;

    private static final int ASSIGNMENT_MASK = (1 << ASSIGNMENT_BITS) - 1;

    private Attempts() {}

    /**
     * The delivery attempt of a task at {@code taskAttempt} delivered in the {@code assignment}-th
     * assignment of its partition (negative counts as 0).
     *
     * @throws IllegalArgumentException if {@code taskAttempt} is negative or above {@link #MAX_TASK_ATTEMPT}
     */
    public static int delivery(int taskAttempt, long assignment) {
        if (taskAttempt < 0 || taskAttempt > MAX_TASK_ATTEMPT) {
            throw new IllegalArgumentException("task attempt must be in [0, " + MAX_TASK_ATTEMPT + "], got "
                    + taskAttempt);
        }
        return taskAttempt << ASSIGNMENT_BITS | (int) (Math.max(assignment, 0) & ASSIGNMENT_MASK);
    }

    /** The scheduler's attempt a delivery attempt belongs to. */
    public static int taskAttempt(int deliveryAttempt) {
        return deliveryAttempt >>> ASSIGNMENT_BITS;
    }
}
