package io.rollout.learner.cli;

import io.rollout.runtime.cli.RootCommand;
import io.rollout.runtime.config.CommandLines;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code learner-service}: the trainer with its scheduler, the advantage stage and offline GiGPO. */
@Command(
        name = "learner-service",
        description = "The learner side of the pipeline: task scheduler and trainer, GiGPO advantages (streaming and offline).",
        subcommands = {TrainCommand.class, AdvantageStreamCommand.class, GigpoCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 bad input or a failure, 2 bad usage."})
public final class LearnerCommand extends RootCommand {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line: durations like 500ms/30s/10m, one-line errors, exit 2 for usage. */
    public static CommandLine commandLine() {
        return CommandLines.of(new LearnerCommand(), 1);
    }
}
