package io.rollout.env.server;

/** A session id the service does not hold: never issued, closed, or expired. */
final class UnknownSessionException extends RuntimeException {

    private final boolean expired;

    UnknownSessionException(String id, boolean expired) {
        super(expired ? "session " + id + " expired after being idle" : "unknown session " + id);
        this.expired = expired;
    }

    boolean expired() {
        return expired;
    }
}
