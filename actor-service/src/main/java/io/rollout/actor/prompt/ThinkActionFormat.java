package io.rollout.actor.prompt;

import io.rollout.env.Observation;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * verl-agent's format for instruction models: the prompt asks for reasoning inside
 * {@code <think>...</think>} and the move inside {@code <action>...</action>}; the action is
 * the trimmed text of the last complete {@code <action>} block. No stop string is set, so the
 * closing tag stays in the text (the policy cuts text before a stop string); the chat
 * template's end-of-turn token ends the answer.
 */
public final class ThinkActionFormat implements ActionFormat {

    public static final String NAME = "think-action";

    private static final Pattern ACTION = Pattern.compile("<action>(.*?)</action>", Pattern.DOTALL);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean chat() {
        return true;
    }

    @Override
    public String render(Observation current, List<Turn> history) {
        StringBuilder sb = new StringBuilder();
        if (!history.isEmpty()) {
            sb.append("Your previous steps, oldest first:\n");
            for (Turn turn : history) {
                sb.append("Observation:\n").append(turn.observation()).append("\nAction: ").append(turn.action())
                        .append('\n');
            }
            sb.append('\n');
        }
        sb.append("Current observation:\n").append(current.text()).append('\n');
        if (!current.admissibleActions().isEmpty()) {
            sb.append("Admissible actions: ").append(String.join(", ", current.admissibleActions())).append('\n');
        }
        sb.append("Think step by step inside <think> </think>, then give exactly one action inside "
                + "<action> </action>.");
        return sb.toString();
    }

    @Override
    public Optional<String> parse(String response, Observation current) {
        Matcher m = ACTION.matcher(response);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return last == null || last.isBlank() ? Optional.empty() : Optional.of(last.strip());
    }

    /** An empty reasoning block, then the action in its tags. */
    @Override
    public String answer(String action) {
        return "<think></think>\n<action>" + action + "</action>";
    }

    @Override
    public int defaultMaxNewTokens() {
        return 256;
    }

    @Override
    public int defaultHistory() {
        return 2;
    }
}
