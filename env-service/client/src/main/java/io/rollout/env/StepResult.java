package io.rollout.env;

import java.util.Objects;

/**
 * The outcome of one step.
 *
 * @param observation what the agent sees next
 * @param reward      the reward of this step
 * @param done        the episode is over (solved, failed or out of steps); further steps are refused
 * @param won         the episode was solved
 * @param actionValid the environment understood and accepted the action
 */
public record StepResult(Observation observation, double reward, boolean done, boolean won, boolean actionValid) {

    public StepResult {
        Objects.requireNonNull(observation, "observation");
    }
}
