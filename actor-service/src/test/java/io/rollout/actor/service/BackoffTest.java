package io.rollout.actor.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BackoffTest {

    private static final Duration START = Duration.ofMillis(500);
    private static final Duration MAX = Duration.ofSeconds(30);

    @Test
    void shouldDoubleFromTheStartToTheMaximumWithJitterInTheUpperHalf() {
        Backoff backoff = new Backoff(START, MAX, 7);
        for (int n = 0; n < 12; n++) {
            long bound = Math.min(MAX.toMillis(), START.toMillis() << n);
            Duration d = backoff.delay(n);
            assertThat(d.toMillis()).as("wait %d", n).isBetween(bound / 2, bound);
        }
        assertThat(backoff.delay(1_000).toMillis()).isBetween(MAX.toMillis() / 2, MAX.toMillis());
    }

    @Test
    void shouldGiveTheSameWaitsForTheSameSeedAndOthersForAnother() {
        List<Duration> a = IntStream.range(0, 8).mapToObj(new Backoff(START, MAX, 1)::delay).toList();
        List<Duration> b = IntStream.range(0, 8).mapToObj(new Backoff(START, MAX, 1)::delay).toList();
        List<Duration> c = IntStream.range(0, 8).mapToObj(new Backoff(START, MAX, 2)::delay).toList();
        assertThat(a).isEqualTo(b).isNotEqualTo(c);
    }

    @Test
    void shouldRefuseABadRange() {
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, MAX, 1)).hasMessageContaining("> 0");
        assertThatThrownBy(() -> new Backoff(MAX, START, 1)).hasMessageContaining("below");
    }
}
