package io.rollout.actor.delivery;

/**
 * Where one delivered task stands. A task is {@link #PLAYING} from the moment it is taken
 * until it ends in exactly one of the other states, which are final:
 * <ul>
 * <li>{@link #DONE}: all its steps are acknowledged (or it was dead-lettered); its offset may be
 *     committed;</li>
 * <li>{@link #CANCELLED}: given up (revoked partition, drain timeout, shutdown): nothing more of
 *     it is published and its offset is not committed, so another actor plays it;</li>
 * <li>{@link #FAILED}: the actor failed while playing it; nothing more is committed at all.</li>
 * </ul>
 */
public enum JobState {
    PLAYING, DONE, CANCELLED, FAILED;

    /** Whether the task has ended (any state but {@link #PLAYING}). */
    public boolean finished() {
        return this != PLAYING;
    }

    /** Whether a task in this state may move to {@code next}: only out of {@link #PLAYING}, never back. */
    public boolean canMoveTo(JobState next) {
        return this == PLAYING && next != PLAYING;
    }

    /** {@code next}, if this state may move there; else an IllegalStateException naming both. */
    public JobState moveTo(JobState next) {
        if (!canMoveTo(next)) {
            throw new IllegalStateException("a task cannot move from " + this + " to " + next);
        }
        return next;
    }
}
