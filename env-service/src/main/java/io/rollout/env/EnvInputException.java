package io.rollout.env;

/**
 * A caller's mistake: the HTTP API answers it with a 4xx naming {@link #kind()} and the
 * message. Other sessions are unaffected.
 */
public final class EnvInputException extends RuntimeException {

    /** What was wrong; the HTTP layer maps each kind to a status code. */
    public enum Kind {
        UNKNOWN_ENV,
        UNKNOWN_CONFIG_KEY,
        BAD_CONFIG_VALUE,
        /** Valid settings whose episode would cost more work to set up than one request may take. */
        CONFIG_TOO_EXPENSIVE,
        SEED_OUT_OF_RANGE,
        NOT_STARTED,
        EPISODE_DONE
    }

    private final Kind kind;

    public EnvInputException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
