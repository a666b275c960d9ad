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

    /**
     * g1 (incomplete) sits before g2 (trained) in the partition: the resume offset is g1's first
     * sample, and g2 is remembered so that the replay skips it; once g1 is done too, the resume
     * offset is the consumer position and nothing needs remembering.
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
        List<SampleAssembler.DoneGroup> done = a.doneAfter(resume);
        assertThat(done).containsExactly(new SampleAssembler.DoneGroup("g2", 0, 0, 13));

        SampleAssembler restarted = new SampleAssembler();
        restarted.restore(done);
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
        assertThat(restarted.doneAfter(later)).as("pruned").isEmpty();
    }

    @Test
    void shouldDropAPoisonedGroupAndIgnoreItsLaterSamples() {
        SampleAssembler a = new SampleAssembler();
        a.add(0, 0, sample("g", 0, 3));
        a.discard(new SampleAssembler.GroupKey("g", 0), 0, 1);
        assertThat(a.bufferedSamples()).isZero();
        assertThat(a.add(0, 2, sample("g", 2, 3))).isEqualTo(Outcome.ALREADY_DONE);
        assertThat(a.resumeOffsets(Map.of(0, 3L))).isEqualTo(Map.of(0, 3L));
    }
}
