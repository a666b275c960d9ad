package io.rollout.learner.advantage;

import io.rollout.records.Step;
import io.rollout.schemas.topics.Attempts;

/**
 * Which valid step a group takes in, decided from the step, the group's open state and its
 * finished mark alone; {@link GroupCollector} reads those from its stores and acts on the
 * outcome.
 *
 * <p>Attempts are delivery attempts (see {@link Attempts}): a higher one replaces an open
 * group's steps. Once a group is finished (emitted or dropped), only a higher <em>task</em>
 * attempt, i.e. a re-queue by the scheduler, opens it again; a re-delivery of the same dispatch
 * (an actor died after publishing the group and before committing its task) is ignored, so a
 * group is never trained twice.
 */
final class Admission {

    /** What becomes of an incoming step. */
    enum Outcome {
        /** A step of the attempt that finished the group: ignored, counted as late. */
        LATE,
        /**
         * A step of an attempt below the open one, or, once the group is finished, another
         * delivery of the finished dispatch or of an older one: ignored.
         */
        STALE_ATTEMPT,
        /** The first step of a higher attempt than the open one: forget the open one, then as {@link #OPEN}. */
        SUPERSEDE,
        /** The first step of a group that is not open: open it with this step. */
        OPEN,
        /** Its group size is not the open group's: dead-lettered. */
        SIZE_MISMATCH,
        /** A step of the open attempt that has arrived already: ignored. */
        DUPLICATE,
        /** It contradicts its episode's steps so far ({@link GroupState#conflict}): dead-lettered. */
        CONFLICT,
        /** A new step of the open attempt: stored. */
        ACCEPT
    }

    private Admission() {
    }

    /**
     * Whether the decision on a step of {@code attempt} looks at the finished mark: an open
     * attempt was never finished, so only when no attempt is open or the step's is higher.
     */
    static boolean needsFinishedMark(int attempt, GroupState open) {
        return open == null || attempt > open.attempt;
    }

    /**
     * @param step a step that passed the collector's validity checks
     * @param open the group's open attempt, or null
     * @param finished the group's finished mark, or null; ignored unless {@link #needsFinishedMark}
     */
    static Outcome decide(Step step, GroupState open, FinishedMark finished) {
        int attempt = step.getAttempt();
        if (needsFinishedMark(attempt, open) && finished != null
                && finished.taskAttempt() >= Attempts.taskAttempt(attempt)) {
            return finished.attempt() == attempt ? Outcome.LATE : Outcome.STALE_ATTEMPT;
        }
        // A fresh group has no steps for this one to duplicate or contradict.
        if (open == null) {
            return Outcome.OPEN;
        }
        if (attempt < open.attempt) {
            return Outcome.STALE_ATTEMPT;
        }
        if (attempt > open.attempt) {
            return Outcome.SUPERSEDE;
        }
        if (step.getGroupSize() != open.groupSize) {
            return Outcome.SIZE_MISMATCH;
        }
        if (open.has(step.getEpisode(), step.getT())) {
            return Outcome.DUPLICATE;
        }
        if (open.conflict(step.getEpisode(), step.getT(), step.getDone()) != null) {
            return Outcome.CONFLICT;
        }
        return Outcome.ACCEPT;
    }
}
