package io.rollout.env;

/**
 * A failure of the machinery behind an environment (a remote environment server down, a
 * timeout, a malformed answer), never the agent's doing. Actors end the episode with the
 * terminal reason INFRA_ERROR instead of turning it into a reward.
 */
public class EnvInfrastructureException extends RuntimeException {

    public EnvInfrastructureException(String message, Throwable cause) {
        super(message, cause);
    }

    public EnvInfrastructureException(String message) {
        super(message);
    }
}
