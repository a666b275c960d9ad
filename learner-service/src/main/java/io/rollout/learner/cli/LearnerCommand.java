package io.rollout.learner.cli;

import io.rollout.schemas.config.CommandLines;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code learner-service}: the trainer with its scheduler, the advantage stage and offline GiGPO. */
@Command(
        name = "learner-service",
        mixinStandardHelpOptions = true,
        versionProvider = LearnerCommand.Version.class,
        description = "The learner side of the pipeline: task scheduler and trainer, GiGPO advantages (streaming and offline).",
        subcommands = {TrainCommand.class, AdvantageStreamCommand.class, GigpoCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 bad input or a failure, 2 bad usage."})
public final class LearnerCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line: durations like 500ms/30s/10m, one-line errors, exit 2 for usage. */
    public static CommandLine commandLine() {
        return CommandLines.of(new LearnerCommand(), 1);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = LearnerCommand.class.getPackage().getImplementationVersion();
            return new String[] {"learner-service " + (version == null ? "(development build)" : version)};
        }
    }
}
