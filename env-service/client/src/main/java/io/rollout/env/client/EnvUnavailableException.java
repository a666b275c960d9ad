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

    public EnvUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
