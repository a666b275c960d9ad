package io.rollout.actor.play;

import io.rollout.actor.prompt.ActionFormat;
import java.util.List;
import java.util.Objects;

/**
 * How an actor plays.
 *
 * @param actorId recorded in every step
 * @param actionFormat {@code think-action} or {@code compact} (see {@link ActionFormat#named})
 * @param actionVocabulary actions {@code compact} accepts where an environment lists none
 *     (empty = up, down, left, right)
 * @param temperature sampling temperature, >= 0 (0 = greedy)
 * @param topP nucleus sampling, in (0, 1]
 * @param maxNewTokens response length bound, >= 1
 * @param historyLength earlier (observation, action) turns shown in a prompt, >= 0
 * @param maxPromptTokens prompt length bound, >= 1 (see {@link io.rollout.actor.prompt.PromptBuilder})
 * @param seed sampling seed, or null for unseeded sampling; when set, every round's sampling is
 *     a function of (seed, task seed, group id, t) and the batch position (see {@link GroupPlayer})
 */
public record PlayerConfig(String actorId, String actionFormat, List<String> actionVocabulary, double temperature,
        double topP, int maxNewTokens, int historyLength, int maxPromptTokens, Long seed) {

    public PlayerConfig {
        Objects.requireNonNull(actorId, "actorId");
        if (actorId.isBlank()) {
            throw new IllegalArgumentException("actorId must not be blank");
        }
        Objects.requireNonNull(actionFormat, "actionFormat");
        actionVocabulary = List.copyOf(Objects.requireNonNull(actionVocabulary, "actionVocabulary"));
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
        }
        if (historyLength < 0) {
            throw new IllegalArgumentException("historyLength must be >= 0, got " + historyLength);
        }
        if (maxPromptTokens < 1) {
            throw new IllegalArgumentException("maxPromptTokens must be >= 1, got " + maxPromptTokens);
        }
        try {
            ActionFormat.named(actionFormat, actionVocabulary);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("actionFormat: " + e.getMessage(), e);
        }
    }

    /**
     * Temperature 1, top-p 1, the format's response length (8 for compact, 256 for
     * think-action) and history (0 for compact, 2 for think-action), prompts up to 4096
     * tokens, no seed.
     */
    public static PlayerConfig defaults(String actorId, String actionFormat) {
        ActionFormat f = ActionFormat.named(actionFormat, List.of());
        return new PlayerConfig(actorId, actionFormat, List.of(), 1.0, 1.0, f.defaultMaxNewTokens(),
                f.defaultHistory(), 4096, null);
    }

    /** The configured action format. */
    public ActionFormat format() {
        return ActionFormat.named(actionFormat, actionVocabulary);
    }

    public PlayerConfig withSeed(Long s) {
        return new PlayerConfig(actorId, actionFormat, actionVocabulary, temperature, topP, maxNewTokens,
                historyLength, maxPromptTokens, s);
    }

    public PlayerConfig withTemperature(double t) {
        return new PlayerConfig(actorId, actionFormat, actionVocabulary, t, topP, maxNewTokens, historyLength,
                maxPromptTokens, seed);
    }

    public PlayerConfig withMaxNewTokens(int n) {
        return new PlayerConfig(actorId, actionFormat, actionVocabulary, temperature, topP, n, historyLength,
                maxPromptTokens, seed);
    }

    public PlayerConfig withHistory(int turns, int maxPrompt) {
        return new PlayerConfig(actorId, actionFormat, actionVocabulary, temperature, topP, maxNewTokens, turns,
                maxPrompt, seed);
    }
}
