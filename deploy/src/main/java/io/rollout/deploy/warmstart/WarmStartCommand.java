package io.rollout.deploy.warmstart;

import io.rollout.actor.prompt.ActionFormat;
import io.rollout.policy.ModelFormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code policy warm-start}: supervised fine-tuning on expert demonstrations before RL. */
@Command(
        name = "warm-start",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Writes a new base model: the --model directory fine-tuned on expert demonstrations by next-token "
                + "cross-entropy on the response tokens, as pipelines do before reinforcement learning. "
                + "Demonstrations are played on training levels (seeds below 1,000,000,000) in the exact prompt "
                + "format the actors use (--format, --history): Sokoban's come from a breadth-first solver, the "
                + "household's from an oracle plan that reads the hidden state.",
            "Every weight is trained (full-parameter) with AdamW, learning rate decaying along a cosine to a "
                + "tenth. That suits the tiny model; for a real checkpoint it needs memory for about four copies "
                + "of the weights in float32 (weights, gradients and the two AdamW moments) and writes a float32 "
                + "copy of up to 2 GB, so it fits models of up to about 0.5B parameters on a CPU.",
            "--out gets the base's config and tokenizer files, a new model.safetensors and warm_start.json (the "
                + "settings, the base's file hashes and the figures). Prints a progress line every 5 s and a "
                + "summary. Exit code 4 if the model cannot be used."
        })
public final class WarmStartCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", required = true, description = "Base model directory.")
    Path model;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "Directory for the warm-started model (replaced if it exists).")
    Path out;

    @Option(names = "--env", defaultValue = "sokoban", description = "sokoban or household (default: ${DEFAULT-VALUE}).")
    String env;

    @Option(names = "--env-config", paramLabel = "KEY=VALUE",
            description = "An environment setting of the demonstration levels, e.g. player_walk=3. Repeatable.")
    Map<String, String> envConfig = new LinkedHashMap<>();

    @Option(names = "--format", defaultValue = "compact",
            description = "The actors' action format: compact or think-action (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--history", paramLabel = "TURNS",
            description = "Earlier turns a prompt shows, as the actors' setting (default: the format's, 0 for compact).")
    Integer history;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "4096",
            description = "Prompt length bound, as the actors' setting (default: ${DEFAULT-VALUE}).")
    int maxPromptTokens;

    @Option(names = "--max-steps", defaultValue = "20",
            description = "Steps per demonstration episode at most (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Option(names = "--demonstrations", defaultValue = "3000",
            description = "Demonstration steps to train on (default: ${DEFAULT-VALUE}).")
    int demonstrations;

    @Option(names = "--held-out", defaultValue = "500",
            description = "Demonstration steps of other levels, scored before and after (default: ${DEFAULT-VALUE}).")
    int heldOut;

    @Option(names = "--epochs", defaultValue = "2", description = "Passes over the demonstrations (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch-size", defaultValue = "32", description = "Steps per optimizer step (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--max-minutes", defaultValue = "3",
            description = "Time bound; training stops when it is reached, 0: none (default: ${DEFAULT-VALUE}).")
    double maxMinutes;

    @Option(names = "--seed", defaultValue = "0", description = "Levels and shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        WarmStartSpec warm;
        try {
            int turns = history != null ? history : ActionFormat.named(format, List.of()).defaultHistory();
            warm = new WarmStartSpec(env, envConfig, format, turns, maxPromptTokens, maxSteps, demonstrations, heldOut, epochs,
                    batchSize, lr, maxMinutes * 60, seed);
            WarmStart.environment(env);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter o = spec.commandLine().getOut();
        try {
            WarmStart.Result r = WarmStart.run(model, out, warm, (step, steps, loss, seconds) -> {
                o.printf(Locale.ROOT, "warm-start step %d/%d loss %.4f %.0f s%n", step, steps, loss, seconds);
                o.flush();
            });
            o.printf(Locale.ROOT, "model=%s demonstrations=%d episodes=%d steps=%d held_out_loss=%.4f->%.4f "
                    + "seconds=%.0f%s%n", out, r.demonstrations(), r.episodes(), r.steps(), r.heldOutLossBefore(),
                    r.heldOutLossAfter(), r.seconds(), r.stoppedEarly() ? " (stopped by --max-minutes)" : "");
            o.flush();
            return 0;
        } catch (ModelFormatException e) {
            spec.commandLine().getErr().println("error: " + e.getMessage());
            return 4;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
