package io.rollout.learner.advantage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ThreadReplacementsTest {

    private static final long MINUTE = Duration.ofMinutes(1).toNanos();

    @Test
    void shouldReplaceUpToMaxWithinTheWindowAndAgainOnceItHasPassed() {
        ThreadReplacements r = new ThreadReplacements(3, Duration.ofMinutes(10));

        assertThat(r.allow(0)).isTrue();
        assertThat(r.allow(MINUTE)).isTrue();
        assertThat(r.allow(2 * MINUTE)).isTrue();
        assertThat(r.allow(3 * MINUTE)).as("a fourth death within 10 minutes").isFalse();
        assertThat(r.allow(9 * MINUTE)).isFalse();
        assertThat(r.allow(10 * MINUTE)).as("the first one has left the window").isTrue();
        assertThat(r.allow(10 * MINUTE + 1)).isFalse();
    }

    @Test
    void shouldNeverReplaceWithAMaxOfZero() {
        assertThat(new ThreadReplacements(0, Duration.ofMinutes(10)).allow(0)).isFalse();
        assertThatThrownBy(() -> new ThreadReplacements(-1, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    }
}
