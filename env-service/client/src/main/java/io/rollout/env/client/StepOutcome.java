package io.rollout.env.client;

import io.rollout.env.StepResult;
import java.util.Objects;

/**
 * One item of {@link EnvClient#stepAll}: the step's result, or the exception
 * {@link EnvClient#step} would have thrown for it (an {@link EnvRequestException},
 * {@link EnvSessionLostException}, {@link EnvUnavailableException} or
 * {@link io.rollout.env.EnvInfrastructureException}, classified the same way).
 *
 * @param session the session the item named
 * @param result  the step's result, or null when it failed
 * @param failure why it failed, or null when it succeeded
 */
public record StepOutcome(String session, StepResult result, RuntimeException failure) {

    public StepOutcome {
        if ((result == null) == (failure == null)) {
            throw new IllegalArgumentException("a step outcome has either a result or a failure");
        }
    }

    static StepOutcome of(String session, StepResult result) {
        return new StepOutcome(session, Objects.requireNonNull(result, "result"), null);
    }

    static StepOutcome failed(String session, RuntimeException failure) {
        return new StepOutcome(session, null, Objects.requireNonNull(failure, "failure"));
    }

    public boolean succeeded() {
        return failure == null;
    }

    /** The result, or the failure thrown, as {@link EnvClient#step} would. */
    public StepResult resultOrThrow() {
        if (failure != null) {
            throw failure;
        }
        return result;
    }
}
