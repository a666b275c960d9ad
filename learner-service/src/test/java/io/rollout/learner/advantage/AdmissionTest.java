package io.rollout.learner.advantage;

import static io.rollout.learner.advantage.Admission.Outcome.ACCEPT;
import static io.rollout.learner.advantage.Admission.Outcome.CONFLICT;
import static io.rollout.learner.advantage.Admission.Outcome.DUPLICATE;
import static io.rollout.learner.advantage.Admission.Outcome.LATE;
import static io.rollout.learner.advantage.Admission.Outcome.OPEN;
import static io.rollout.learner.advantage.Admission.Outcome.SIZE_MISMATCH;
import static io.rollout.learner.advantage.Admission.Outcome.STALE_ATTEMPT;
import static io.rollout.learner.advantage.Admission.Outcome.SUPERSEDE;
import static io.rollout.learner.advantage.Steps.last;
import static io.rollout.learner.advantage.Steps.mid;
import static io.rollout.learner.advantage.Steps.step;
import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.records.Step;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.topics.Attempts;
import org.junit.jupiter.api.Test;

class AdmissionTest {

    static final int D0 = Attempts.delivery(0, 4);
    /** A re-delivery of the same dispatch (its partition was assigned once more). */
    static final int D0_AGAIN = Attempts.delivery(0, 5);
    /** The scheduler's re-queue. */
    static final int D1 = Attempts.delivery(1, 0);

    static Step midOf(int attempt, int episode, int t) {
        return mid("g", attempt, 2, episode, t, "start", 0f);
    }

    static GroupState openAt(int attempt) {
        return GroupState.open(attempt, 2, 1_000L).add(0, 0, false);
    }

    static FinishedMark finishedAt(int attempt) {
        return new FinishedMark(attempt, 2_000L);
    }

    @Test
    void shouldOpenAGroupNeitherOpenNorFinished() {
        assertThat(Admission.decide(midOf(D0, 0, 0), null, null)).isEqualTo(OPEN);
        assertThat(Admission.decide(last("g", 0, 1, 0, 0, "start", 1f), null, null)).isEqualTo(OPEN);
    }

    @Test
    void shouldAcceptANewStepOfTheOpenAttempt() {
        assertThat(Admission.decide(midOf(D0, 0, 1), openAt(D0), null)).isEqualTo(ACCEPT);
        assertThat(Admission.decide(midOf(D0, 1, 0), openAt(D0), null)).isEqualTo(ACCEPT);
        assertThat(Admission.decide(last("g", D0, 2, 0, 1, "room", 1f), openAt(D0), null)).isEqualTo(ACCEPT);
    }

    @Test
    void shouldIgnoreAStepOfTheOpenAttemptThatArrivedAlready() {
        assertThat(Admission.decide(midOf(D0, 0, 0), openAt(D0), null)).isEqualTo(DUPLICATE);
        GroupState ended = openAt(D0).add(0, 1, true);
        assertThat(Admission.decide(last("g", D0, 2, 0, 1, "room", 1f), ended, null)).isEqualTo(DUPLICATE);
    }

    @Test
    void shouldTakeAStepBelowTheOpenAttemptForStale() {
        assertThat(Admission.decide(midOf(D0, 0, 1), openAt(D0_AGAIN), null)).isEqualTo(STALE_ATTEMPT);
        assertThat(Admission.decide(midOf(D0_AGAIN, 0, 1), openAt(D1), null)).isEqualTo(STALE_ATTEMPT);
    }

    @Test
    void shouldReplaceTheOpenAttemptWithAHigherOne() {
        assertThat(Admission.decide(midOf(D0_AGAIN, 0, 0), openAt(D0), null))
                .as("a re-delivery of an unfinished group").isEqualTo(SUPERSEDE);
        assertThat(Admission.decide(midOf(D1, 0, 0), openAt(D0), null)).as("a re-queue").isEqualTo(SUPERSEDE);
        assertThat(Admission.decide(mid("g", D1, 3, 2, 0, "start", 0f), openAt(D0), null))
                .as("a new attempt may have another group size").isEqualTo(SUPERSEDE);
    }

    @Test
    void shouldRefuseAGroupSizeOtherThanTheOpenGroups() {
        assertThat(Admission.decide(mid("g", D0, 3, 0, 1, "start", 0f), openAt(D0), null)).isEqualTo(SIZE_MISMATCH);
        assertThat(Admission.decide(mid("g", D0, 3, 0, 0, "start", 0f), openAt(D0), null))
                .as("checked before duplicates").isEqualTo(SIZE_MISMATCH);
    }

    @Test
    void shouldRefuseAStepThatContradictsItsEpisode() {
        GroupState ended = openAt(D0).add(0, 2, true);
        assertThat(Admission.decide(midOf(D0, 0, 3), ended, null)).as("after the last step").isEqualTo(CONFLICT);
        assertThat(Admission.decide(last("g", D0, 2, 0, 1, "room", 0f), ended, null))
                .as("a second last step").isEqualTo(CONFLICT);
        GroupState ahead = openAt(D0).add(0, 5, false);
        assertThat(Admission.decide(last("g", D0, 2, 0, 3, "room", 0f), ahead, null))
                .as("a last step before a step already seen").isEqualTo(CONFLICT);
        assertThat(Admission.decide(midOf(D0, 0, 2), ended, null))
                .as("the last step itself again is a duplicate, not a conflict").isEqualTo(DUPLICATE);
    }

    @Test
    void shouldCountAStepOfTheFinishedAttemptAsLate() {
        assertThat(Admission.decide(midOf(D0, 1, 0), null, finishedAt(D0))).isEqualTo(LATE);
        assertThat(Admission.decide(midOf(D1, 1, 0), null, finishedAt(D1))).isEqualTo(LATE);
    }

    @Test
    void shouldIgnoreARedeliveryOfTheFinishedDispatch() {
        assertThat(Admission.decide(midOf(D0_AGAIN, 0, 0), null, finishedAt(D0))).isEqualTo(STALE_ATTEMPT);
        assertThat(Admission.decide(midOf(Attempts.delivery(0, (1 << Attempts.ASSIGNMENT_BITS) - 1), 0, 0), null,
                finishedAt(D0))).as("the highest delivery of the dispatch").isEqualTo(STALE_ATTEMPT);
    }

    @Test
    void shouldIgnoreAnOlderDeliveryOrDispatchOfAFinishedGroup() {
        assertThat(Admission.decide(midOf(D0, 0, 0), null, finishedAt(D0_AGAIN))).isEqualTo(STALE_ATTEMPT);
        assertThat(Admission.decide(midOf(D0_AGAIN, 0, 0), null, finishedAt(D1))).isEqualTo(STALE_ATTEMPT);
    }

    @Test
    void shouldReopenAFinishedGroupForAHigherTaskAttempt() {
        assertThat(Admission.decide(midOf(D1, 0, 0), null, finishedAt(D0_AGAIN))).isEqualTo(OPEN);
        assertThat(Admission.decide(midOf(Attempts.delivery(2, 0), 0, 0), null, finishedAt(D0))).isEqualTo(OPEN);
    }

    @Test
    void shouldApplyTheFinishedMarkBeforeSupersedingTheOpenAttempt() {
        // The re-queue D1 is open; the group was finished before at D0.
        assertThat(Admission.decide(midOf(Attempts.delivery(1, 1), 0, 0), openAt(D1), finishedAt(D0)))
                .isEqualTo(SUPERSEDE);
        assertThat(Admission.decide(midOf(Attempts.delivery(1, 1), 0, 0), openAt(D1), finishedAt(D1)))
                .as("a mark of the step's own task attempt").isEqualTo(STALE_ATTEMPT);
    }

    @Test
    void shouldConsultTheFinishedMarkOnlyWithoutAnOpenAttemptAtTheStepsOrHigher() {
        assertThat(Admission.needsFinishedMark(D0, null)).isTrue();
        assertThat(Admission.needsFinishedMark(D0_AGAIN, openAt(D0))).isTrue();
        assertThat(Admission.needsFinishedMark(D0, openAt(D0))).isFalse();
        assertThat(Admission.needsFinishedMark(D0, openAt(D0_AGAIN))).isFalse();
        assertThat(Admission.decide(midOf(D1, 0, 1), openAt(D1), finishedAt(D1))).isEqualTo(ACCEPT);
        assertThat(Admission.decide(midOf(D0, 0, 1), openAt(D1), finishedAt(D0))).isEqualTo(STALE_ATTEMPT);
    }

    @Test
    void shouldAdmitAnInfrastructureErrorLikeAnyLastStep() {
        Step infra = step("g", D0, 2, 1, 0, "start", 0f, true, true, TerminalReason.INFRA_ERROR);
        assertThat(Admission.decide(infra, openAt(D0), null)).isEqualTo(ACCEPT);
        assertThat(Admission.decide(infra, null, null)).isEqualTo(OPEN);
    }

    @Test
    void shouldNotChangeTheOpenState() {
        GroupState open = openAt(D0);
        for (Step s : new Step[] {midOf(D0, 0, 1), midOf(D0, 0, 0), last("g", D0, 2, 1, 0, "start", 0f)}) {
            Admission.decide(s, open, null);
        }
        assertThat(open.stepCount()).isEqualTo(1);
        assertThat(open.episodesFinished()).isZero();
    }
}
