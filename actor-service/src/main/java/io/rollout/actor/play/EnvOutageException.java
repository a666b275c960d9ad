package io.rollout.actor.play;

/**
 * env-service is unreachable or lost the group's sessions (it restarted): not the task's
 * fault, and nothing of the group can go on. Raised by a {@link GroupPlayer} that
 * {@linkplain GroupPlayer#raisingEnvOutages() raises outages}, before any step of the round
 * that met it is emitted; the caller waits until env-service answers and plays the group again
 * from its start.
 */
public final class EnvOutageException extends RuntimeException {

    public EnvOutageException(String message, RuntimeException cause) {
        super(message, cause);
    }
}
