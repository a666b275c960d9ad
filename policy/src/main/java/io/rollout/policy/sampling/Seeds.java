package io.rollout.policy.sampling;

/**
 * Derived seeds: the scheduler, the trainer and the actors turn (run seed, index, step, ...)
 * into independent-looking seeds by chaining {@link #mix64} over the parts, so a run is
 * reproducible without sharing a random generator between components.
 */
public final class Seeds {

    private Seeds() {}

    /** The SplitMix64 finalizer (Stafford's variant 13): a bijective 64-bit mixer. */
    public static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
