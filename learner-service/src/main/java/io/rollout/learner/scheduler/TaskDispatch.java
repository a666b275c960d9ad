package io.rollout.learner.scheduler;

/**
 * The trainer's side of whatever hands out the tasks whose samples it trains. The trainer starts
 * it once it knows its version, tells it each new version and what became of each group (trained,
 * or discarded without training), keeps its state in each checkpoint, and stops it on close.
 * {@link SchedulerService} is the real one; {@link #NONE} does nothing, for a trainer whose
 * samples come from elsewhere.
 */
public interface TaskDispatch {

    /** Dispatches nothing and checkpoints nothing. */
    TaskDispatch NONE = new TaskDispatch() {
    };

    /**
     * Starts dispatching from {@code restored} (null: a new run); {@code abandoned} is told of every
     * group given up for good.
     */
    default void start(SchedulerCheckpoint restored, TaskScheduler.AbandonListener abandoned) {
    }

    /** The trainer's policy version is now {@code version}: tasks dispatched from now on carry it. */
    default void versionChanged(long version) {
    }

    /** The trainer trained on attempt {@code attempt} of a group. */
    default void trained(String groupId, int attempt) {
    }

    /** The trainer discarded attempt {@code attempt} of a group without training on it. */
    default void discarded(String groupId, int attempt) {
    }

    /** The state to keep in the trainer's checkpoint, or null if there is none. */
    default SchedulerCheckpoint checkpoint() {
        return null;
    }

    /** What stopped dispatching for good (the trainer fails on it), or null. */
    default Throwable failure() {
        return null;
    }

    /** Stops dispatching; takes no checkpoint. */
    default void close() {
    }
}
