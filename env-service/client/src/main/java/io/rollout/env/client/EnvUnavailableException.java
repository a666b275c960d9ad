package io.rollout.env.client;

import io.rollout.env.EnvInfrastructureException;

/**
 * env-service could not be reached or did not answer in time: the connection was refused or
 * broke before a complete answer, the request timeout passed, or a proxy in front of it
 * answered 503 or 504. The service (or the way to it) is down or overloaded, so the caller
 * backs off before trying again. Whether a step sent this way was applied is unknown. A
 * subtype of {@link EnvInfrastructureException}, so code that handles that handles this too.
 */
public final class EnvUnavailableException extends EnvInfrastructureException {

    private final String kind;

    public EnvUnavailableException(String message, Throwable cause) {
        super(message, cause);
        this.kind = null;
    }

    /** A 503/504 answer of env-service itself, with the error kind of its body (e.g. {@code batch_answer_full}). */
    public EnvUnavailableException(String message, String kind) {
        super(message, null);
        this.kind = kind;
    }

    /** The error kind env-service answered with, or null when it did not answer (or a proxy did). */
    public String kind() {
        return kind;
    }
}
