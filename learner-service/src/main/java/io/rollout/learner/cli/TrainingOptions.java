package io.rollout.learner.cli;

import io.rollout.learner.trainer.GgpoConfig;
import io.rollout.learner.trainer.LossConfig;
import io.rollout.learner.trainer.OptimizerConfig;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.policy.lora.LoraSpec;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The training flags ({@code @Mixin}) of every command that runs the trainer: {@code learner-service
 * train} and {@code local}. Batching, the loss, AdamW, LoRA and LoRA-GGPO, each declared once with
 * the defaults of {@link TrainerConfig#defaults()}, {@link LoraSpec#defaults} and
 * {@link io.rollout.learner.scheduler.SchedulerConfig#defaults()} (picocli takes a default only as a
 * constant string; DefaultsTest compares the two). A command that needs other defaults for some of
 * them names those with a {@link io.rollout.runtime.cli.DefaultOverrides}. The run seed is the
 * command's own, since it seeds more than the trainer.
 */
public final class TrainingOptions {

    @Spec
    private CommandSpec spec;

    // --- batching
    @Option(names = "--batch-groups", defaultValue = "8", description = "B: complete groups per update (default: ${DEFAULT-VALUE}).")
    private int batchGroups;

    @Option(names = "--max-staleness", defaultValue = "1",
            description = "Drop samples generated more than this many versions ago; also bounds admission (default: ${DEFAULT-VALUE}).")
    private int maxStaleness;

    @Option(names = "--ppo-epochs", defaultValue = "1", description = "Passes over each batch (default: ${DEFAULT-VALUE}).")
    private int ppoEpochs;

    @Option(names = "--mini-batch-size", defaultValue = "32",
            description = "Samples per optimizer step (default: ${DEFAULT-VALUE}).")
    private int miniBatchSize;

    @Option(names = "--micro-batch-size", defaultValue = "0",
            description = "Samples per forward/backward, accumulated into one step; 0: the whole mini-batch (default: ${DEFAULT-VALUE}).")
    private int microBatchSize;

    @Option(names = "--temperature", defaultValue = "1.0",
            description = "The actors' sampling temperature: log-probs are taken under softmax(logits/T) (default: ${DEFAULT-VALUE}).")
    private double temperature;

    // --- loss
    @Option(names = "--clip-eps-low", defaultValue = "0.2", description = "PPO clip range below 1 (default: ${DEFAULT-VALUE}).")
    private double clipEpsLow;

    @Option(names = "--clip-eps-high", defaultValue = "0.2", description = "PPO clip range above 1 (default: ${DEFAULT-VALUE}).")
    private double clipEpsHigh;

    @Option(names = "--clip-c", defaultValue = "3.0", description = "Dual-clip bound for negative advantages (default: ${DEFAULT-VALUE}).")
    private double clipC;

    @Option(names = "--kl-coef", defaultValue = "0.01", description = "Coefficient of the k3 KL to the base model; 0 skips the base model's forward pass and reports the KL as NaN (default: ${DEFAULT-VALUE}).")
    private double klCoef;

    @Option(names = "--kl-clamp", defaultValue = "10.0", description = "The per-token KL is clamped to +-this (default: ${DEFAULT-VALUE}).")
    private double klClamp;

    @Option(names = "--entropy-coef", defaultValue = "0.001", description = "Coefficient of the entropy bonus (default: ${DEFAULT-VALUE}).")
    private double entropyCoef;

    // --- optimizer
    @Option(names = "--lr", defaultValue = "1e-4", description = "AdamW learning rate (default: ${DEFAULT-VALUE}).")
    private double lr;

    @Option(names = "--adam-beta1", defaultValue = "0.9", description = "(default: ${DEFAULT-VALUE})")
    private double beta1;

    @Option(names = "--adam-beta2", defaultValue = "0.999", description = "(default: ${DEFAULT-VALUE})")
    private double beta2;

    @Option(names = "--adam-eps", defaultValue = "1e-8", description = "(default: ${DEFAULT-VALUE})")
    private double adamEps;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "Decoupled weight decay (default: ${DEFAULT-VALUE}).")
    private double weightDecay;

    @Option(names = "--grad-clip", defaultValue = "1.0", description = "Global gradient-norm clip (default: ${DEFAULT-VALUE}).")
    private double gradClip;

    // --- LoRA and GGPO
    @Option(names = "--lora-rank", defaultValue = "8", description = "(default: ${DEFAULT-VALUE})")
    private int loraRank;

    @Option(names = "--lora-alpha", defaultValue = "16", description = "(default: ${DEFAULT-VALUE})")
    private double loraAlpha;

    @Option(names = "--lora-targets", split = ",", defaultValue = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
            description = "Adapted projections (default: ${DEFAULT-VALUE}).")
    private List<String> loraTargets;

    @Option(names = "--init-adapter", paramLabel = "DIR",
            description = "Start a fresh run from this PEFT adapter instead of a new one (ignored when a checkpoint exists).")
    private Path initAdapter;

    @Option(names = "--ggpo", defaultValue = "ggpo", description = "none, flat or ggpo (default: ${DEFAULT-VALUE}).")
    private String ggpoMode;

    @Option(names = "--ggpo-sigma", defaultValue = "0.03", description = "(default: ${DEFAULT-VALUE})")
    private double ggpoSigma;

    @Option(names = "--ggpo-beta", defaultValue = "0.01", description = "Weight of the gradient term; 0 = flat (default: ${DEFAULT-VALUE}).")
    private double ggpoBeta;

    @Option(names = "--ggpo-ramp-steps", defaultValue = "200",
            description = "T of the cosine ramp of the noise over optimizer steps; 0: no ramp (default: ${DEFAULT-VALUE}).")
    private long ggpoRampSteps;

    /** B: complete groups per update. */
    public int batchGroups() {
        return batchGroups;
    }

    /** Versions a sample may lag behind the trainer. */
    public int maxStaleness() {
        return maxStaleness;
    }

    /** The actors' sampling temperature, which the trainer's log-probs must use too. */
    public double temperature() {
        return temperature;
    }

    /** @throws IllegalArgumentException naming the option of a bad value */
    public LossConfig lossConfig() {
        return new LossConfig(clipEpsLow, clipEpsHigh, clipC, klCoef, klClamp, entropyCoef);
    }

    /** @throws IllegalArgumentException naming the option of a bad value */
    public OptimizerConfig optimizerConfig() {
        return new OptimizerConfig(lr, beta1, beta2, adamEps, weightDecay, gradClip);
    }

    /** @throws IllegalArgumentException naming the option of a bad value */
    public GgpoConfig ggpoConfig() {
        return new GgpoConfig(GgpoConfig.Mode.parse(ggpoMode), ggpoSigma, ggpoBeta, ggpoRampSteps);
    }

    /**
     * How each version is trained.
     *
     * @param seed the run seed: adapter init, shuffles and GGPO noise derive from it
     * @throws IllegalArgumentException naming the option of a bad value
     */
    public TrainerConfig trainerConfig(long seed) {
        return new TrainerConfig(lossConfig(), optimizerConfig(), ggpoConfig(), ppoEpochs, miniBatchSize,
                microBatchSize, temperature, seed);
    }

    /**
     * The trained adapter's LoRA settings (no dropout, no rsLoRA).
     *
     * @param baseModel name of the base model, recorded in the adapter
     * @throws IllegalArgumentException on a bad rank, alpha or target
     */
    public LoraSpec loraSpec(String baseModel) {
        return new LoraSpec(loraRank, loraAlpha, loraTargets, 0.0, false, baseModel);
    }

    /** The PEFT adapter a fresh run starts from, or null for a new one. */
    public Path initAdapter() {
        return initAdapter;
    }

    /**
     * Every option's value by its name in snake case ({@code batch_groups}, {@code lr},
     * {@code kl_coef}, ...), in declared order, for a run's report: numbers, strings, a list of
     * strings for {@code lora_targets}, and {@code init_adapter} as a string or null.
     */
    public Map<String, Object> values() {
        Map<String, Object> values = new LinkedHashMap<>();
        for (OptionSpec option : spec.options()) {
            Object value = option.getValue();
            values.put(option.longestName().replaceFirst("^-+", "").replace('-', '_').toLowerCase(Locale.ROOT),
                    value instanceof Path path ? path.toString() : value);
        }
        return values;
    }
}
