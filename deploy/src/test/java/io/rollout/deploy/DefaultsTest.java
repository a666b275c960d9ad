package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.learner.scheduler.SchedulerConfig;
import io.rollout.learner.trainer.GgpoConfig;
import io.rollout.learner.trainer.LossConfig;
import io.rollout.learner.trainer.OptimizerConfig;
import io.rollout.learner.trainer.TrainerConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * One source of truth for the training defaults: what {@code train} and {@code local} print in
 * {@code --help} is what the config records hold, and {@code local} differs from {@code train}
 * only where it says so.
 */
class DefaultsTest {

    private static final CommandLine ROOT = RolloutCommand.commandLine();
    private static final CommandLine TRAIN = ROOT.getSubcommands().get("learner-service").getSubcommands().get("train");
    private static final CommandLine LOCAL = ROOT.getSubcommands().get("local");

    /** Options of {@code local} whose defaults deliberately differ from {@code train}'s, and why. */
    private static final Map<String, String> LOCAL_OVERRIDES = Map.of(
            "--lr", "the tiny model trains from a random base, so a larger step",
            "--kl-coef", "the tiny base is random: nothing to stay close to");

    @Test
    void shouldShowTheConfigRecordsDefaultsInTrainHelp() {
        TrainerConfig trainer = TrainerConfig.defaults();
        LossConfig loss = LossConfig.defaults();
        OptimizerConfig optimizer = OptimizerConfig.defaults();
        GgpoConfig ggpo = GgpoConfig.defaults();
        SchedulerConfig scheduler = SchedulerConfig.defaults();
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
        for (String name : LOCAL_OVERRIDES.keySet()) {
            String help = String.join(" ", LOCAL.getCommandSpec().findOption(name).description());
            assertThat(help).as("%s names train's default in its help", name)
                    .contains("train's " + TRAIN.getCommandSpec().findOption(name).defaultValue());
        }
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
        return text;
    }
}
