package io.rollout.actor.prompt;

import io.rollout.env.Observation;
import io.rollout.policy.Policy;
import io.rollout.policy.text.ChatTemplate;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Builds the prompt token ids of an episode's next step: the format's text for the current
 * observation and the last {@code historyLength} turns, through the policy's chat template
 * ({@code think-action}) or encoded as plain text ({@code compact}).
 *
 * <p>Length: a prompt longer than {@code maxPromptTokens} first loses history turns, oldest
 * first; if the current observation alone is still too long, the token ids are cut from the
 * left and the last {@code maxPromptTokens} are kept. The end holds what the next token
 * depends on most (the current observation, the instruction and, with a chat template, the
 * opening of the assistant's turn); the beginning (system message, start of the observation)
 * is what gets lost.
 */
public final class PromptBuilder {

    private final Policy policy;
    private final ActionFormat format;
    private final int historyLength;
    private final int maxPromptTokens;

    public PromptBuilder(Policy policy, ActionFormat format, int historyLength, int maxPromptTokens) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.format = Objects.requireNonNull(format, "format");
        if (historyLength < 0) {
            throw new IllegalArgumentException("historyLength must be >= 0, got " + historyLength);
        }
        if (maxPromptTokens < 1) {
            throw new IllegalArgumentException("maxPromptTokens must be >= 1, got " + maxPromptTokens);
        }
        this.historyLength = historyLength;
        this.maxPromptTokens = maxPromptTokens;
    }

    public ActionFormat format() {
        return format;
    }

    /** The prompt ids for {@code current} after the episode's turns so far ({@code history}, oldest first). */
    public int[] build(Observation current, List<Turn> history) {
        List<Turn> kept = history.subList(Math.max(0, history.size() - historyLength), history.size());
        while (true) {
            int[] ids = encode(format.render(current, kept));
            if (ids.length <= maxPromptTokens) {
                return ids;
            }
            if (kept.isEmpty()) {
                return Arrays.copyOfRange(ids, ids.length - maxPromptTokens, ids.length);
            }
            kept = kept.subList(1, kept.size());
        }
    }

    private int[] encode(String text) {
        return format.chat()
                ? policy.encodeChat(List.of(ChatTemplate.Message.user(text)), null)
                : policy.tokenizer().encode(text);
    }
}
