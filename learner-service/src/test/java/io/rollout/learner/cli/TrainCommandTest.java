package io.rollout.learner.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.learner.trainer.TinyModel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TrainCommandTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    int run(String... args) {
        CommandLine cli = LearnerCommand.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    @Test
    void shouldListEveryHyperparameterWithItsDefaultInHelp() {
        assertThat(run("train", "--help")).isZero();
        String help = out.toString().replaceAll("\\s+", " ");
        // Every option also names its variable (TRAIN_ and its name).
        List<String> expected = List.of(
                "--clip-eps-low=<clipEpsLow> PPO clip range below 1 (default: 0.2; env TRAIN_CLIP_EPS_LOW)",
                "--clip-eps-high", "(default: 0.2; env TRAIN_CLIP_EPS_HIGH)", "--clip-c", "(default: 3.0; env TRAIN_CLIP_C)",
                "--kl-coef", "(default: 0.01; env TRAIN_KL_COEF)", "--kl-clamp", "(default: 10.0; env TRAIN_KL_CLAMP)",
                "--entropy-coef", "(default: 0.001; env TRAIN_ENTROPY_COEF)", "--lr", "(default: 1e-4; env TRAIN_LR)",
                "--adam-beta1", "--adam-beta2", "--adam-eps", "--weight-decay", "--grad-clip",
                "(default: 1.0; env TRAIN_GRAD_CLIP)",
                "--ggpo=<ggpoMode> none, flat or ggpo (default: ggpo; env TRAIN_GGPO)", "--ggpo-sigma",
                "(default: 0.03; env TRAIN_GGPO_SIGMA)", "--ggpo-beta", "--ggpo-ramp-steps",
                "(default: 200; env TRAIN_GGPO_RAMP_STEPS)", "--ppo-epochs", "--mini-batch-size",
                "--micro-batch-size", "--batch-groups", "(default: 8; env TRAIN_BATCH_GROUPS)", "--max-staleness",
                "--max-in-flight", "(default: 16; env TRAIN_MAX_IN_FLIGHT)", "--max-retries", "--task-timeout",
                "--lora-rank", "--lora-alpha", "--lora-targets",
                "--checkpoint-every", "--keep-checkpoints", "--temperature", "--seed", "--task");
        for (String e : expected) {
            assertThat(help).contains(e);
        }
    }

    @Test
    void shouldRefuseBadValuesNamingTheOption() {
        assertThat(run("train", "--model", TinyModel.dir().toString(), "--bootstrap", "127.0.0.1:1", "--clip-c", "0.5"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("clip-c must be > 1");
        assertThat(run("train", "--model", TinyModel.dir().toString(), "--bootstrap", "127.0.0.1:1", "--ggpo", "sharp"))
                .isEqualTo(2);
        assertThat(err.toString()).contains("unknown GGPO mode 'sharp'");
        assertThat(run("train", "--bootstrap", "127.0.0.1:1")).isEqualTo(2);
        assertThat(err.toString()).contains("--model is required");
    }
}
