package io.rollout.actor.prompt;

import java.util.Objects;

/**
 * One earlier step of an episode as a prompt shows it: the observation text the agent saw and
 * the action it sent (the parsed action, or {@link ActionFormat#UNPARSABLE} when it had none).
 */
public record Turn(String observation, String action) {

    public Turn {
        Objects.requireNonNull(observation, "observation");
        Objects.requireNonNull(action, "action");
    }
}
