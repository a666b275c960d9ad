package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.learner.cli.TrainingOptions;
import io.rollout.learner.scheduler.SchedulerConfig;
import io.rollout.learner.trainer.GgpoConfig;
import io.rollout.learner.trainer.LossConfig;
import io.rollout.learner.trainer.OptimizerConfig;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.policy.lora.LoraSpec;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One source of truth for the training defaults: what {@code train} and {@code local} print in
 * {@code --help} is what the config records hold and what the commands build when no option is
 * given, and {@code local} differs from {@code train} only where it says so, naming train's default.
 */
class DefaultsTest {

    private static final CommandLine ROOT = RolloutCommand.commandLine();
    private static final CommandLine TRAIN = ROOT.getSubcommands().get("learner-service").getSubcommands().get("train");
    private static final CommandLine LOCAL = ROOT.getSubcommands().get("local");

    /**
     * Options of {@code local} whose defaults deliberately differ from {@code train}'s, and local's
     * default (why: its --help says, see {@code LocalCommand.Defaults}).
     */
    private static final Map<String, Double> LOCAL_OVERRIDES = Map.of("--lr", 5e-4, "--kl-coef", 0.0);

    @Test
    void shouldShowTheConfigRecordsDefaultsInTrainHelp() {
        TrainerConfig trainer = TrainerConfig.defaults();
        LossConfig loss = LossConfig.defaults();
        OptimizerConfig optimizer = OptimizerConfig.defaults();
        GgpoConfig ggpo = GgpoConfig.defaults();
        SchedulerConfig scheduler = SchedulerConfig.defaults();
        LoraSpec lora = LoraSpec.defaults("");
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("--clip-eps-low", loss.epsLow());
        expected.put("--clip-eps-high", loss.epsHigh());
        expected.put("--clip-c", loss.clipC());
        expected.put("--kl-coef", loss.klCoef());
        expected.put("--kl-clamp", loss.klClamp());
        expected.put("--entropy-coef", loss.entropyCoef());
        expected.put("--lr", optimizer.learningRate());
        expected.put("--adam-beta1", optimizer.beta1());
        expected.put("--adam-beta2", optimizer.beta2());
        expected.put("--adam-eps", optimizer.epsilon());
        expected.put("--weight-decay", optimizer.weightDecay());
        expected.put("--grad-clip", optimizer.maxGradNorm());
        expected.put("--ggpo", ggpo.mode());
        expected.put("--ggpo-sigma", ggpo.sigma());
        expected.put("--ggpo-beta", ggpo.beta());
        expected.put("--ggpo-ramp-steps", ggpo.rampSteps());
        expected.put("--ppo-epochs", trainer.ppoEpochs());
        expected.put("--mini-batch-size", trainer.miniBatchSize());
        expected.put("--micro-batch-size", trainer.microBatchSize());
        expected.put("--temperature", trainer.temperature());
        expected.put("--seed", trainer.seed());
        expected.put("--max-in-flight", scheduler.maxInFlight());
        expected.put("--batch-groups", scheduler.batchGroups());
        expected.put("--max-staleness", scheduler.maxStaleness());
        expected.put("--max-retries", scheduler.maxRetries());
        expected.put("--task-timeout", scheduler.taskTimeout());
        expected.put("--lora-rank", lora.rank());
        expected.put("--lora-alpha", lora.alpha());
        expected.put("--lora-targets", lora.targetModules());

        Map<String, String> mismatches = new TreeMap<>();
        expected.forEach((name, value) -> {
            OptionSpec option = TRAIN.getCommandSpec().findOption(name);
            assertThat(option).as("train has %s", name).isNotNull();
            Object shown = parse(option.defaultValue(), value);
            if (!shown.equals(value)) {
                mismatches.put(name, "help shows " + option.defaultValue() + ", the record holds " + value);
            }
        });
        assertThat(mismatches).isEmpty();
    }

    @Test
    void shouldGiveLocalTheDefaultsOfTrainExceptTheOverridesItNames() {
        Map<String, String> differing = new TreeMap<>();
        for (OptionSpec option : LOCAL.getCommandSpec().options()) {
            OptionSpec same = TRAIN.getCommandSpec().findOption(option.longestName());
            if (same == null || option.defaultValue() == null || same.defaultValue() == null
                    || option.usageHelp() || option.versionHelp()) {
                continue;
            }
            if (!option.defaultValue().equals(same.defaultValue())) {
                differing.put(option.longestName(), option.defaultValue() + " (train: " + same.defaultValue() + ")");
            }
        }
        assertThat(differing.keySet()).containsExactlyInAnyOrderElementsOf(LOCAL_OVERRIDES.keySet());
        String help = LOCAL.getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");
        LOCAL_OVERRIDES.forEach((name, value) -> {
            OptionSpec option = LOCAL.getCommandSpec().findOption(name);
            assertThat(Double.parseDouble(option.defaultValue())).as("local's %s", name).isEqualTo(value);
            String trains = TRAIN.getCommandSpec().findOption(name).defaultValue();
            assertThat(help).as("%s shows its default and names train's in local's help", name)
                    .contains("(default: " + option.defaultValue() + "; train's " + trains + ", ");
        });
    }

    @Test
    void shouldTrainWithTheDefaultsTheHelpShowsWhenNoOptionIsGiven() {
        TrainerConfig defaults = TrainerConfig.defaults();
        LoraSpec lora = LoraSpec.defaults("base");

        TrainingOptions train = parsed(TRAIN, "learner-service", "train");
        assertThat(train.trainerConfig(0)).isEqualTo(defaults);
        assertThat(train.loraSpec("base")).isEqualTo(lora);
        assertThat(train.initAdapter()).isNull();
        assertThat(train.batchGroups()).isEqualTo(SchedulerConfig.defaults().batchGroups());
        assertThat(train.maxStaleness()).isEqualTo(SchedulerConfig.defaults().maxStaleness());

        TrainingOptions local = parsed(LOCAL, "local");
        assertThat(local.trainerConfig(0)).isEqualTo(defaults
                .withLoss(defaults.loss().withKlCoef(LOCAL_OVERRIDES.get("--kl-coef")))
                .withOptimizer(defaults.optimizer().withLearningRate(LOCAL_OVERRIDES.get("--lr"))));
        assertThat(local.loraSpec("base")).isEqualTo(lora);
        assertThat(local.batchGroups()).isEqualTo(train.batchGroups());
        assertThat(local.maxStaleness()).isEqualTo(train.maxStaleness());

        // Given on the command line, local's overridden options take the value given.
        assertThat(parsed(LOCAL, "local", "--lr", "1e-4", "--kl-coef", "0.01").trainerConfig(0)).isEqualTo(defaults);
    }

    /** The training options of {@code command} after the root parsed {@code args}. */
    private static TrainingOptions parsed(CommandLine command, String... args) {
        ROOT.parseArgs(args);
        return (TrainingOptions) command.getCommandSpec().mixins().get("training").userObject();
    }

    private static Object parse(String text, Object like) {
        if (like instanceof Double) {
            return Double.parseDouble(text);
        }
        if (like instanceof Integer) {
            return Integer.parseInt(text);
        }
        if (like instanceof Long) {
            return Long.parseLong(text);
        }
        if (like instanceof GgpoConfig.Mode) {
            return GgpoConfig.Mode.parse(text);
        }
        if (like instanceof Duration) {
            return io.rollout.runtime.config.Durations.parse(text);
        }
        if (like instanceof List) {
            return List.of(text.split(","));
        }
        return text;
    }
}
