package io.rollout.actor.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class JobStateTest {

    @Test
    void shouldLeavePlayingForAnyEndAndNeverComeBack() {
        for (JobState end : new JobState[] {JobState.DONE, JobState.CANCELLED, JobState.FAILED}) {
            assertThat(JobState.PLAYING.moveTo(end)).isEqualTo(end);
            assertThat(end.finished()).isTrue();
            for (JobState next : JobState.values()) {
                assertThat(end.canMoveTo(next)).as("%s -> %s", end, next).isFalse();
                assertThatThrownBy(() -> end.moveTo(next)).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining(end + " to " + next);
            }
        }
        assertThat(JobState.PLAYING.finished()).isFalse();
        assertThat(JobState.PLAYING.canMoveTo(JobState.PLAYING)).isFalse();
    }
}
