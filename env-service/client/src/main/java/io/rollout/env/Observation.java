package io.rollout.env;

import java.util.List;
import java.util.Objects;

/**
 * What the agent sees after a reset or a step.
 *
 * @param text              the observation shown to the agent (may include feedback such as "Nothing happens.")
 * @param anchor            the raw environment state alone, without history or prompt template: equal states
 *                          give equal strings, which is how GiGPO groups steps by anchor state
 * @param admissibleActions the actions the environment accepts now, where it has such a list; else empty
 */
public record Observation(String text, String anchor, List<String> admissibleActions) {

    public Observation {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(anchor, "anchor");
        admissibleActions = List.copyOf(admissibleActions);
    }

    /** An observation whose text is its anchor and that lists no actions (Sokoban). */
    public static Observation ofState(String state) {
        return new Observation(state, state, List.of());
    }
}
