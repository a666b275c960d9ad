package io.rollout.actor.prompt;

import io.rollout.env.Observation;
import java.util.List;
import java.util.Optional;

/**
 * How the agent is asked for an action and how its answer is read: the prompt text for an
 * observation (with an optional history of earlier turns) and the parser of a response.
 *
 * <p>An answer with no readable action is not a crash and not a skipped step: the player
 * sends {@link #UNPARSABLE} to the environment, a string no environment accepts as an action
 * (it has none of Sokoban's direction words and is never in an admissible-action list), so the
 * environment's own rules decide the consequence (Sokoban: -0.1, no move, not counted toward
 * its {@code max_steps}; household: "Nothing happens." and one step used).
 */
public interface ActionFormat {

    /** What the player sends an environment when the response holds no action. */
    String UNPARSABLE = "<unparsable>";

    /** The name the format is configured by. */
    String name();

    /** Whether the text goes through the policy's chat template (as a user message) or is encoded as it is. */
    boolean chat();

    /** The prompt text (user message or plain text) for the current observation after {@code history}. */
    String render(Observation current, List<Turn> history);

    /** The action in {@code response}, or empty when it has none. */
    Optional<String> parse(String response, Observation current);

    /**
     * The response text that answers {@code action} in this format, as the model should write it:
     * {@link #parse} reads {@code action} back from it. Warm-start demonstrations are written in it.
     */
    String answer(String action);

    /** Response length that suits the format when the configuration gives none. */
    int defaultMaxNewTokens();

    /** History length (turns) that suits the format when the configuration gives none. */
    int defaultHistory();

    /**
     * The format called {@code name}: {@code think-action} or {@code compact}.
     *
     * @param actionVocabulary the actions {@code compact} accepts when an environment lists no
     *     admissible actions (Sokoban); ignored by {@code think-action}
     */
    static ActionFormat named(String name, List<String> actionVocabulary) {
        switch (name) {
            case ThinkActionFormat.NAME:
                return new ThinkActionFormat();
            case CompactFormat.NAME:
                return new CompactFormat(actionVocabulary);
            default:
                throw new IllegalArgumentException("unknown action format \"" + name + "\" (use "
                        + ThinkActionFormat.NAME + " or " + CompactFormat.NAME + ")");
        }
    }
}
