package io.rollout.learner.advantage;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * How many stream threads that died may be replaced before the app gives up: at most
 * {@code max} within any {@code window}. A thread that dies once in a while (a broker outage
 * that outlasts the transaction timeout and surfaces as an exception Kafka Streams does not
 * handle itself) is replaced and the app goes on; one that keeps dying is a bug, and stopping
 * the process is better than replacing it in a loop.
 */
final class ThreadReplacements {

    private final int max;
    private final long windowNanos;
    private final Deque<Long> recent = new ArrayDeque<>();

    ThreadReplacements(int max, Duration window) {
        if (max < 0 || window.isNegative()) {
            throw new IllegalArgumentException("max and window must be >= 0, got " + max + " and " + window);
        }
        this.max = max;
        this.windowNanos = window.toNanos();
    }

    /** Whether a thread that died at {@code nowNanos} may be replaced; counts it if so. */
    synchronized boolean allow(long nowNanos) {
        while (!recent.isEmpty() && nowNanos - recent.peekFirst() >= windowNanos) {
            recent.pollFirst();
        }
        if (recent.size() >= max) {
            return false;
        }
        recent.addLast(nowNanos);
        return true;
    }
}
