package io.rollout.deploy.warmstart;

import io.rollout.actor.prompt.ActionFormat;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.actor.prompt.Turn;
import io.rollout.env.EnvConfig;
import io.rollout.env.Environment;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.policy.Policy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Expert episodes turned into supervised examples in the exact tokens an actor would see and
 * write: each step's prompt is built by the actors' {@link PromptBuilder} from the observation and
 * the episode's earlier turns, and the response is the format's {@link ActionFormat#answer} of the
 * environment's {@link Environment#expertAction} followed by the model's end-of-response token.
 */
public final class Demonstrations {

    /** One step of an expert episode: the actor's prompt tokens and the expert's response tokens. */
    public record Step(long seed, int t, int[] prompt, int[] response, String action) {}

    /** Steps collected, and the episodes (levels) they came from. */
    public record Set(List<Step> steps, int episodes, int solved) {}

    private Demonstrations() {}

    /**
     * Plays expert episodes on the levels {@code seeds} yields until {@code count} steps are
     * collected (the last episode cut short if need be).
     */
    public static Set collect(Policy policy, PromptBuilder prompts, EnvironmentFactory factory, EnvConfig config,
            int maxSteps, int count, LongSupplier seeds) {
        List<Step> steps = new ArrayList<>(count);
        int episodes = 0;
        int solved = 0;
        try (Environment env = factory.create()) {
            while (steps.size() < count) {
                Set episode = episode(policy, prompts, env, config, maxSteps, seeds.getAsLong());
                episodes++;
                solved += episode.solved();
                steps.addAll(episode.steps().subList(0, Math.min(episode.steps().size(), count - steps.size())));
            }
        }
        return new Set(List.copyOf(steps), episodes, solved);
    }

    /**
     * One expert episode on the level of {@code seed}: it ends when the environment says done,
     * after {@code maxSteps} steps, or when the expert knows no action.
     */
    public static Set episode(Policy policy, PromptBuilder prompts, Environment env, EnvConfig config, int maxSteps,
            long seed) {
        ActionFormat format = prompts.format();
        int end = policy.endOfResponseToken(format.chat());
        if (end < 0) {
            throw new IllegalArgumentException("the model names no end-of-response token (eos_token_id in "
                    + "generation_config.json or config.json), so a demonstration cannot end");
        }
        List<Step> steps = new ArrayList<>();
        Observation observation = env.reset(seed, config);
        List<Turn> history = new ArrayList<>();
        for (int t = 0; t < maxSteps; t++) {
            Optional<String> action = env.expertAction();
            if (action.isEmpty()) {
                break;
            }
            int[] answer = policy.tokenizer().encode(format.answer(action.get()));
            int[] response = Arrays.copyOf(answer, answer.length + 1);
            response[answer.length] = end;
            steps.add(new Step(seed, t, prompts.build(observation, history), response, action.get()));
            StepResult result = env.step(action.get());
            history.add(new Turn(observation.text(), action.get()));
            observation = result.observation();
            if (result.done()) {
                return new Set(steps, 1, result.won() ? 1 : 0);
            }
        }
        return new Set(steps, 1, 0);
    }
}
