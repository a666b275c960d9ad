package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.learner.trainer.SampleAssembler.Outcome;
import io.rollout.records.TrainingSample;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SampleAssemblerTest {

    static TrainingSample sample(String group, int episode, int groupSamples) {
        TrainingSample s = SampleFeed.group(group, 0, groupSamples, 0, 1).get(0);
        s.setEpisode(episode);
        return s;
    }

    @Test
    void shouldCompleteGroupsAndIgnoreDuplicates() {
        SampleAssembler a = new SampleAssembler();
        assertThat(a.add(0, 0, sample("g", 0, 2))).isEqualTo(Outcome.BUFFERED);
        assertThat(a.add(0, 1, sample("g", 0, 2))).isEqualTo(Outcome.DUPLICATE);
        assertThat(a.add(0, 2, sample("g", 1, 2))).isEqualTo(Outcome.COMPLETED);
        SampleAssembler.Group g = a.pollComplete();
        assertThat(g.samples()).extracting(SampleAssembler.Located::offset).containsExactly(0L, 2L);
        a.markDone(g);
        assertThat(a.add(0, 3, sample("g", 0, 2))).isEqualTo(Outcome.ALREADY_DONE);
    }

    static TrainingSample sample(String group, int attempt, int episode, int groupSamples) {
        TrainingSample s = sample(group, episode, groupSamples);
        s.setAttempt(attempt);
        return s;
    }

    /**
     * g1 (incomplete) sits before g2 (trained) in the partition: the resume offset is g1's first
     * sample, and g2 is remembered so that the replay skips it; once g1 is done too, the resume
     * offset is the consumer position.
     */
    @Test
    void shouldResumeAtTheFirstUntrainedSampleAndSkipGroupsTrainedAfterIt() {
        SampleAssembler a = new SampleAssembler();
        a.add(0, 10, sample("g1", 0, 3));
        a.add(0, 11, sample("g2", 0, 2));
        a.add(0, 12, sample("g1", 1, 3));
        a.add(0, 13, sample("g2", 1, 2));
        a.markDone(a.pollComplete());
        a.add(1, 7, sample("h", 0, 1));
        Map<Integer, Long> resume = a.resumeOffsets(Map.of(0, 14L, 1, 8L));
        assertThat(resume).isEqualTo(Map.of(0, 10L, 1, 7L));
        FinishedGroups.Snapshot done = a.finishedSnapshot();
        assertThat(done.ids()).containsExactly("g2");

        SampleAssembler restarted = new SampleAssembler();
        restarted.restore(done, List.of());
        assertThat(restarted.add(0, 10, sample("g1", 0, 3))).isEqualTo(Outcome.BUFFERED);
        assertThat(restarted.add(0, 11, sample("g2", 0, 2))).isEqualTo(Outcome.ALREADY_DONE);
        assertThat(restarted.add(0, 12, sample("g1", 1, 3))).isEqualTo(Outcome.BUFFERED);
        assertThat(restarted.add(0, 13, sample("g2", 1, 2))).isEqualTo(Outcome.ALREADY_DONE);
        assertThat(restarted.add(0, 14, sample("g1", 2, 3))).isEqualTo(Outcome.COMPLETED);
        restarted.markDone(restarted.pollComplete());
        assertThat(restarted.add(1, 7, sample("h", 0, 1))).isEqualTo(Outcome.COMPLETED);
        restarted.markDone(restarted.pollComplete());
        Map<Integer, Long> later = restarted.resumeOffsets(Map.of(0, 15L, 1, 8L));
        assertThat(later).isEqualTo(Map.of(0, 15L, 1, 8L));
    }

    /** A slow first attempt and the scheduler's re-queue of it both complete: one is trained. */
    @Test
    void shouldTrainAGroupOnceWhenTwoOfItsAttemptsComplete() {
        SampleAssembler a = new SampleAssembler();
        a.add(0, 0, sample("run-00000001", 0, 0, 2));
        a.add(0, 1, sample("run-00000001", 1, 0, 2));
        a.add(0, 2, sample("run-00000001", 0, 1, 2));
        assertThat(a.add(0, 3, sample("run-00000001", 1, 1, 2))).isEqualTo(Outcome.COMPLETED);
        assertThat(a.completeGroups()).isEqualTo(2);
        SampleAssembler.Group first = a.pollComplete();
        a.markDone(first);
        assertThat(a.pollComplete()).as("the other attempt is finished with it").isNull();
        assertThat(a.ignoredAttempts()).isEqualTo(1);
        assertThat(a.add(0, 4, sample("run-00000001", 2, 0, 2))).isEqualTo(Outcome.ALREADY_DONE);
    }

    /**
     * An attempt that is still incomplete when another attempt of its group is trained is
     * dropped, so it does not hold the resume offset back forever.
     */
    @Test
    void shouldForgetIncompleteAttemptsOfATrainedGroup() {
        SampleAssembler a = new SampleAssembler();
        a.add(0, 5, sample("g", 0, 0, 2));
        a.add(0, 6, sample("g", 1, 0, 1));
        a.markDone(a.pollComplete());
        assertThat(a.bufferedSamples()).isZero();
        assertThat(a.resumeOffsets(Map.of(0, 7L))).isEqualTo(Map.of(0, 7L));
    }

    /**
     * A re-queued attempt that arrives long after the group was trained, after a restart from a
     * checkpoint whose resume offsets lie past the trained samples, is still ignored.
     */
    @Test
    void shouldIgnoreALateAttemptOfAGroupTrainedBeforeTheCheckpoint() {
        SampleAssembler a = new SampleAssembler();
        a.add(0, 0, sample("run-00000007", 0, 0, 1));
        a.markDone(a.pollComplete());
        assertThat(a.resumeOffsets(Map.of(0, 1L))).isEqualTo(Map.of(0, 1L));

        SampleAssembler restarted = new SampleAssembler();
        restarted.restore(a.finishedSnapshot(), List.of());
        assertThat(restarted.add(0, 900, sample("run-00000007", 3, 0, 1))).isEqualTo(Outcome.ALREADY_DONE);
        assertThat(restarted.completeGroups()).isZero();
    }

    @Test
    void shouldReadTheFinishedGroupsOfAFormatOneCheckpoint() {
        SampleAssembler a = new SampleAssembler();
        a.restore(null, List.of(new SampleAssembler.DoneGroup("g2", 0, 0, 13)));
        assertThat(a.add(0, 20, sample("g2", 1, 0, 1))).isEqualTo(Outcome.ALREADY_DONE);
    }

    @Test
    void shouldDropAPoisonedGroupAndIgnoreItsLaterSamples() {
        SampleAssembler a = new SampleAssembler();
        a.add(0, 0, sample("g", 0, 3));
        a.discard(new SampleAssembler.GroupKey("g", 0));
        assertThat(a.bufferedSamples()).isZero();
        assertThat(a.add(0, 2, sample("g", 2, 3))).isEqualTo(Outcome.ALREADY_DONE);
        assertThat(a.resumeOffsets(Map.of(0, 3L))).isEqualTo(Map.of(0, 3L));
    }
}
