package io.rollout.learner.advantage;

import io.rollout.schemas.topics.Attempts;
import java.nio.ByteBuffer;

/**
 * What the group collector remembers of a finished (emitted or dropped) group: the delivery
 * attempt that finished it and when, by the app's clock. Stored as {@value #BYTES} bytes, the
 * attempt (4) then the time in milliseconds (8), both big-endian.
 *
 * @param attempt the delivery attempt that was emitted or dropped
 * @param atMs when, in milliseconds since the epoch
 */
record FinishedMark(int attempt, long atMs) {

    static final int BYTES = Integer.BYTES + Long.BYTES;

    /** The scheduler's attempt the finished delivery belongs to. */
    int taskAttempt() {
        return Attempts.taskAttempt(attempt);
    }

    byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).putInt(attempt).putLong(atMs).array();
    }

    /** @throws IllegalArgumentException if {@code bytes} is not a mark of exactly {@value #BYTES} bytes */
    static FinishedMark fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length != BYTES) {
            throw new IllegalArgumentException("a finished mark is " + BYTES + " bytes, got "
                    + (bytes == null ? "null" : bytes.length));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        return new FinishedMark(b.getInt(), b.getLong());
    }
}
