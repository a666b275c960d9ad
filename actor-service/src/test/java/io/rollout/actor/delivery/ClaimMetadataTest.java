package io.rollout.actor.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ClaimMetadataTest {

    @Test
    void shouldWriteTheCounterAndTheActor() {
        assertThat(ClaimMetadata.encode(3, "actor-1")).isEqualTo("assignments=3;actor=actor-1");
        assertThat(ClaimMetadata.assignments(ClaimMetadata.encode(3, "actor-1"))).isEqualTo(3);
        assertThat(ClaimMetadata.assignments(ClaimMetadata.encode(Long.MAX_VALUE, "a"))).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void shouldReadZeroWhenThereIsNoCounter() {
        assertThat(ClaimMetadata.assignments(null)).isZero();
        assertThat(ClaimMetadata.assignments("")).isZero();
        assertThat(ClaimMetadata.assignments("committed by a tool")).isZero();
    }

    @Test
    void shouldFindTheCounterAnywhereAndTakeAnUnreadableOneForZero() {
        assertThat(ClaimMetadata.assignments("actor=x;assignments=7")).isEqualTo(7);
        assertThat(ClaimMetadata.assignments("assignments=seven;actor=x")).isZero();
        assertThat(ClaimMetadata.assignments("assignments=-4")).isZero();
        assertThat(ClaimMetadata.assignments("assignments=99999999999999999999")).isZero();
    }

    @Test
    void shouldRefuseANegativeCounter() {
        assertThatThrownBy(() -> ClaimMetadata.encode(-1, "a")).isInstanceOf(IllegalArgumentException.class);
    }
}
