package io.rollout.env.client;

import java.util.Objects;

/**
 * One item of {@link EnvClient#closeSessions}: closed (or already gone, which
 * {@link EnvClient#closeSession} does not count as an error), or the exception
 * {@link EnvClient#closeSession} would have thrown for it.
 *
 * @param session the session the item named
 * @param failure why it could not be closed, or null when it is closed
 */
public record CloseOutcome(String session, RuntimeException failure) {

    static CloseOutcome closed(String session) {
        return new CloseOutcome(session, null);
    }

    static CloseOutcome failed(String session, RuntimeException failure) {
        return new CloseOutcome(session, Objects.requireNonNull(failure, "failure"));
    }

    public boolean succeeded() {
        return failure == null;
    }
}
