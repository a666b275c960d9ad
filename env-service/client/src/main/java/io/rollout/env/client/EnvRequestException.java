package io.rollout.env.client;

/**
 * env-service refused a request as the caller's mistake (a 4xx): unknown environment or
 * session, bad config, a step after the episode ended. Retrying the same request fails
 * the same way. The subtype {@link EnvSessionLostException} marks a session the service no
 * longer knows, typically because it restarted.
 */
public class EnvRequestException extends RuntimeException {

    private final int status;
    private final String kind;

    public EnvRequestException(int status, String kind, String message) {
        super(status + " " + kind + ": " + message);
        this.status = status;
        this.kind = kind;
    }

    public int status() {
        return status;
    }

    /** The {@code error} field of the answer, e.g. {@code unknown_session}. */
    public String kind() {
        return kind;
    }
}
