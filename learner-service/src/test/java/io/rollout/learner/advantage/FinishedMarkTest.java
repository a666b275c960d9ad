package io.rollout.learner.advantage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.schemas.topics.Attempts;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class FinishedMarkTest {

    /** The mark as the collector wrote it by hand before it had a type: attempt, then time. */
    static byte[] handMade(int attempt, long atMs) {
        return ByteBuffer.allocate(12).putInt(attempt).putLong(atMs).array();
    }

    @Test
    void shouldRoundTrip() {
        for (FinishedMark m : new FinishedMark[] {new FinishedMark(0, 0L),
                new FinishedMark(Attempts.delivery(3, 17), 1_795_000_000_000L),
                new FinishedMark(Integer.MAX_VALUE, Long.MAX_VALUE), new FinishedMark(-1, Long.MIN_VALUE)}) {
            assertThat(FinishedMark.fromBytes(m.toBytes())).isEqualTo(m);
        }
    }

    @Test
    void shouldWriteAndReadTheStoredLayout() {
        int attempt = Attempts.delivery(1, 5);
        long atMs = 1_795_000_000_123L;
        assertThat(new FinishedMark(attempt, atMs).toBytes()).hasSize(12).isEqualTo(handMade(attempt, atMs));
        assertThat(FinishedMark.fromBytes(handMade(attempt, atMs))).isEqualTo(new FinishedMark(attempt, atMs));
        assertThat(new FinishedMark(0x00100005, 0x0102030405060708L).toBytes()).containsExactly(
                0x00, 0x10, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08);
    }

    @Test
    void shouldTellTheTaskAttempt() {
        assertThat(new FinishedMark(Attempts.delivery(7, 123), 0L).taskAttempt()).isEqualTo(7);
        assertThat(new FinishedMark(Attempts.delivery(Attempts.MAX_TASK_ATTEMPT, (1 << 20) - 1), 0L).taskAttempt())
                .isEqualTo(Attempts.MAX_TASK_ATTEMPT);
    }

    @Test
    void shouldRefuseMalformedBytes() {
        for (int length : new int[] {0, 3, 4, 11, 13, 24}) {
            assertThatThrownBy(() -> FinishedMark.fromBytes(new byte[length]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("a finished mark is 12 bytes, got " + length);
        }
        assertThatThrownBy(() -> FinishedMark.fromBytes(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got null");
    }
}
