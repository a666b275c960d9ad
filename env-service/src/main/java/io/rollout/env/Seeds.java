package io.rollout.env;

import io.rollout.env.EnvInputException.Kind;

/** The seed range every environment accepts: integers a JSON number carries exactly. */
public final class Seeds {

    /** 2^53 - 1, the largest integer a JSON number (an IEEE double) holds exactly. */
    public static final long MAX = (1L << 53) - 1;

    private Seeds() {
    }

    /** Returns {@code seed}, or throws SEED_OUT_OF_RANGE unless 0 <= seed <= {@link #MAX}. */
    public static long check(long seed) {
        if (seed < 0 || seed > MAX) {
            throw new EnvInputException(Kind.SEED_OUT_OF_RANGE, "seed " + seed + " is out of range [0, " + MAX + "]");
        }
        return seed;
    }
}
