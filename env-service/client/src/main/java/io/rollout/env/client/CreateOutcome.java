package io.rollout.env.client;

import io.rollout.env.api.SessionCreated;
import java.util.Objects;

/**
 * One item of {@link EnvClient#createSessions}: the new session, or the exception
 * {@link EnvClient#createSession} would have thrown for it, classified the same way.
 *
 * @param created the new session and its first observation, or null when it failed
 * @param failure why it failed, or null when it succeeded
 */
public record CreateOutcome(SessionCreated created, RuntimeException failure) {

    public CreateOutcome {
        if ((created == null) == (failure == null)) {
            throw new IllegalArgumentException("a create outcome has either a session or a failure");
        }
    }

    static CreateOutcome of(SessionCreated created) {
        return new CreateOutcome(Objects.requireNonNull(created, "created"), null);
    }

    static CreateOutcome failed(RuntimeException failure) {
        return new CreateOutcome(null, Objects.requireNonNull(failure, "failure"));
    }

    public boolean succeeded() {
        return failure == null;
    }

    /** The session, or the failure thrown, as {@link EnvClient#createSession} would. */
    public SessionCreated createdOrThrow() {
        if (failure != null) {
            throw failure;
        }
        return created;
    }
}
