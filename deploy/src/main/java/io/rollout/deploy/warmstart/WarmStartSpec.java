package io.rollout.deploy.warmstart;

import io.rollout.actor.prompt.ActionFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * What a warm start does: which environment's expert is imitated in which prompt format, on how
 * many demonstration steps, with which optimizer settings and budget. Two warm starts of the same
 * base model with equal specs write the same weights, so a model written under a spec can be
 * reused for it.
 *
 * @param env environment name ({@code sokoban} or {@code household})
 * @param envConfig environment settings of the demonstration episodes
 * @param format the actors' action format ({@code compact} or {@code think-action})
 * @param history earlier turns a prompt shows, as the actors' {@code --history}
 * @param maxPromptTokens prompt length bound, as the actors' {@code --max-prompt-tokens}
 * @param maxSteps steps per demonstration episode at most
 * @param demonstrations demonstration steps (prompt and expert answer) to train on
 * @param heldOut demonstration steps from other levels, scored before and after to show the fit
 * @param epochs passes over the demonstrations
 * @param batchSize demonstration steps per optimizer step
 * @param learningRate AdamW's peak rate; it decays along a cosine to a tenth of it
 * @param maxSeconds training time bound; the run stops early when it is reached (0: none)
 * @param seed demonstration levels, shuffling
 */
public record WarmStartSpec(String env, Map<String, String> envConfig, String format, int history,
        int maxPromptTokens, int maxSteps,
        int demonstrations, int heldOut, int epochs, int batchSize, double learningRate, double maxSeconds,
        long seed) {

    public WarmStartSpec {
        Objects.requireNonNull(env, "env");
        envConfig = Map.copyOf(envConfig);
        ActionFormat.named(format, List.of());
        require(history >= 0, "history must be >= 0, got " + history);
        require(maxPromptTokens >= 1, "max prompt tokens must be >= 1, got " + maxPromptTokens);
        require(maxSteps >= 1, "max steps must be >= 1, got " + maxSteps);
        require(demonstrations >= 1, "demonstrations must be >= 1, got " + demonstrations);
        require(heldOut >= 0, "held-out demonstrations must be >= 0, got " + heldOut);
        require(epochs >= 1, "epochs must be >= 1, got " + epochs);
        require(batchSize >= 1, "batch size must be >= 1, got " + batchSize);
        require(learningRate > 0 && Double.isFinite(learningRate), "learning rate must be > 0, got " + learningRate);
        require(maxSeconds >= 0, "time bound must be >= 0, got " + maxSeconds);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** Optimizer steps the spec asks for: every epoch in batches of {@link #batchSize}. */
    public long optimizerSteps() {
        return (long) epochs * ((demonstrations + batchSize - 1) / batchSize);
    }

    /** The spec as JSON values, in a fixed order (what {@code warm_start.json} records). */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("env", env);
        m.put("env_config", new TreeMap<>(envConfig));
        m.put("format", format);
        m.put("history", history);
        m.put("max_prompt_tokens", maxPromptTokens);
        m.put("max_steps", maxSteps);
        m.put("demonstrations", demonstrations);
        m.put("held_out", heldOut);
        m.put("epochs", epochs);
        m.put("batch_size", batchSize);
        m.put("learning_rate", learningRate);
        m.put("max_seconds", maxSeconds);
        m.put("seed", seed);
        return m;
    }
}
