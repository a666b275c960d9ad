package io.rollout.actor.service;

import java.time.Duration;
import java.util.SplittableRandom;

/**
 * Exponential backoff with jitter: the n-th wait (from 0) is drawn uniformly from the upper half
 * of {@code min(max, initial * 2^n)}, so waits grow from {@code initial} to {@code max} and
 * actors that met the same outage at the same moment do not retry in step. Seeded, so a test
 * sees the same waits every run. Thread-safe.
 */
final class Backoff {

    private final long initialNanos;
    private final long maxNanos;
    private final SplittableRandom random;

    /**
     * @param initial the first wait's bound, > 0
     * @param max the bound of every wait, >= initial
     */
    Backoff(Duration initial, Duration max, long seed) {
        if (initial.isNegative() || initial.isZero()) {
            throw new IllegalArgumentException("backoff must be > 0, got " + initial);
        }
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff maximum " + max + " is below its start " + initial);
        }
        this.initialNanos = initial.toNanos();
        this.maxNanos = max.toNanos();
        this.random = new SplittableRandom(seed);
    }

    /** The wait before retry {@code n} (0 = the first retry). */
    synchronized Duration delay(int n) {
        long bound = initialNanos;
        for (int i = 0; i < n && bound < maxNanos; i++) {
            bound = bound > maxNanos / 2 ? maxNanos : bound * 2;
        }
        bound = Math.min(bound, maxNanos);
        long half = bound / 2;
        return Duration.ofNanos(half + random.nextLong(bound - half + 1));
    }
}
