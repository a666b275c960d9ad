package io.rollout.env.client;

/**
 * env-service does not know the session (404 {@code unknown_session}): it was never opened
 * there or, far more often, the service restarted and lost its in-memory sessions. Unlike
 * other 4xx answers this is an outage of the environment, not a bad request: the caller
 * re-creates the session (or drops the episode group) and backs off, instead of treating
 * the request as its own mistake.
 */
public final class EnvSessionLostException extends EnvRequestException {

    public static final String KIND = "unknown_session";

    public EnvSessionLostException(String message) {
        super(404, KIND, message);
    }
}
