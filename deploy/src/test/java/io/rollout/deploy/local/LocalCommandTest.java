package io.rollout.deploy.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.learner.gigpo.GigpoMode;
import io.rollout.learner.trainer.GgpoConfig;
import io.rollout.learner.trainer.LossConfig;
import io.rollout.learner.trainer.OptimizerConfig;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.runtime.config.CommandLines;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code local}'s training options hand to {@link LocalPipeline}. */
class LocalCommandTest {

    private static LocalCommand parsed(String... args) {
        LocalCommand local = new LocalCommand();
        CommandLines.of(local, 1).parseArgs(args);
        return local;
    }

    @Test
    void shouldTrainWithTrainsDefaultsButItsOwnLearningRateAndKlCoefficient() {
        LocalCommand local = parsed();
        LocalPipeline.Settings settings = local.pipelineSettings(Path.of("data"));

        TrainerConfig d = TrainerConfig.defaults();
        assertThat(settings.trainer()).isEqualTo(d.withLoss(d.loss().withKlCoef(0.0))
                .withOptimizer(d.optimizer().withLearningRate(5e-4)));
        assertThat(settings.lora()).isEqualTo(LoraSpec.defaults(""));
        assertThat(settings.initAdapter()).isNull();
        assertThat(settings.batchGroups()).isEqualTo(8);
        assertThat(settings.maxStaleness()).isEqualTo(1);
        assertThat(settings.players().apply("actor-0").temperature()).isEqualTo(1.0);
        assertThat(settings.advantage().gigpo().mode()).isEqualTo(GigpoMode.MEAN_NORM);
        assertThat(local.training.values()).containsEntry("lr", 5e-4).containsEntry("kl_coef", 0.0)
                .containsEntry("lora_rank", 8).containsEntry("ggpo", "ggpo").containsEntry("init_adapter", null);
    }

    @Test
    void shouldHandEveryTrainingOptionToThePipeline() {
        LocalCommand local = parsed("--batch-groups", "4", "--max-staleness", "2", "--ppo-epochs", "2",
                "--mini-batch-size", "16", "--micro-batch-size", "4", "--temperature", "0.7", "--clip-eps-low", "0.1",
                "--clip-eps-high", "0.3", "--clip-c", "2.5", "--kl-coef", "0.02", "--kl-clamp", "5",
                "--entropy-coef", "0.002", "--lr", "2e-4", "--adam-beta1", "0.8", "--adam-beta2", "0.99",
                "--adam-eps", "1e-6", "--weight-decay", "0.1", "--grad-clip", "0.5", "--lora-rank", "4",
                "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj", "--init-adapter", "adapter", "--ggpo", "flat",
                "--ggpo-sigma", "0.05", "--ggpo-beta", "0", "--ggpo-ramp-steps", "0", "--seed", "3",
                "--gigpo-mode", "mean_std_norm", "--omega", "0.5");
        LocalPipeline.Settings settings = local.pipelineSettings(Path.of("data"));

        assertThat(settings.trainer()).isEqualTo(new TrainerConfig(new LossConfig(0.1, 0.3, 2.5, 0.02, 5, 0.002),
                new OptimizerConfig(2e-4, 0.8, 0.99, 1e-6, 0.1, 0.5),
                new GgpoConfig(GgpoConfig.Mode.FLAT, 0.05, 0, 0), 2, 16, 4, 0.7, 3));
        assertThat(settings.lora()).isEqualTo(new LoraSpec(4, 8, List.of("q_proj", "v_proj"), 0.0, false, ""));
        assertThat(settings.initAdapter()).isEqualTo(Path.of("adapter"));
        assertThat(settings.batchGroups()).isEqualTo(4);
        assertThat(settings.maxStaleness()).isEqualTo(2);
        assertThat(settings.players().apply("actor-0").temperature()).isEqualTo(0.7);
        assertThat(settings.advantage().gigpo().mode()).isEqualTo(GigpoMode.MEAN_STD_NORM);
        assertThat(settings.advantage().gigpo().omega()).isEqualTo(0.5);
        assertThat(local.training.values()).containsEntry("lora_targets", List.of("q_proj", "v_proj"))
                .containsEntry("init_adapter", "adapter");
    }
}
