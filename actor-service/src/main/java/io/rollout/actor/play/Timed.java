package io.rollout.actor.play;

import java.util.function.Supplier;

/**
 * The answer of one env-service call as a round needs it: the value or the exception the call
 * threw, and how long it took.
 *
 * @param value  the call's value, or null when it failed
 * @param error  why it failed, or null when it succeeded
 * @param micros the call's wall time in microseconds
 */
record Timed<T>(T value, RuntimeException error, long micros) {

    /** Runs {@code call}, keeping its value or its exception and its time. */
    static <T> Timed<T> of(Supplier<T> call) {
        long start = System.nanoTime();
        try {
            T value = call.get();
            return new Timed<>(value, null, micros(start));
        } catch (RuntimeException e) {
            return new Timed<>(null, e, micros(start));
        }
    }

    /** Microseconds since {@code startNanos}, a {@link System#nanoTime()} reading. */
    static long micros(long startNanos) {
        return (System.nanoTime() - startNanos) / 1000;
    }
}
