package io.rollout.env;

import java.util.Optional;

/**
 * A multi-turn text environment: one episode at a time, driven by one caller (not
 * thread-safe). The same seed and config give the same initial state on every machine,
 * so the N episodes of a group start from one state and GiGPO finds repeated states.
 */
public interface Environment extends AutoCloseable {

    /** The registered name, e.g. {@code sokoban}. */
    String name();

    /**
     * Starts a new episode.
     *
     * @throws EnvInputException          for an unknown config key, a bad config value or a seed out of range
     * @throws EnvInfrastructureException when a backing service (a remote server) fails
     */
    Observation reset(long seed, EnvConfig config);

    /**
     * Applies one action given as the agent's text. Text that names no valid action is not
     * an error: the result says {@code actionValid=false}.
     *
     * @throws EnvInputException          when no episode is running or the episode is done
     * @throws EnvInfrastructureException when a backing service (a remote server) fails
     */
    StepResult step(String action);

    /**
     * The action an expert would take next in the running episode, as action text this
     * environment accepts, or empty when it knows none (no episode, episode over, or no oracle):
     * the teacher of warm-start demonstrations.
     */
    default Optional<String> expertAction() {
        return Optional.empty();
    }

    /** Releases what the environment holds (a remote session, for instance). */
    @Override
    default void close() {
    }
}
