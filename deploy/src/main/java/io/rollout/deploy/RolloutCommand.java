package io.rollout.deploy;

import io.rollout.actor.cli.ActorCommand;
import io.rollout.deploy.experiment.ExperimentCommand;
import io.rollout.deploy.reliability.FaultCommand;
import io.rollout.deploy.reliability.ScaleOutCommand;
import io.rollout.deploy.reliability.SoakCommand;
import io.rollout.deploy.local.LocalCommand;
import io.rollout.env.cli.EnvServiceCommand;
import io.rollout.learner.cli.LearnerCommand;
import io.rollout.runtime.cli.RootCommand;
import io.rollout.runtime.config.CommandLines;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code rollout} launcher: every service of the pipeline and the embedded broker in
 * one jar, one subcommand each.
 */
@Command(
        name = "rollout",
        description = "Kafka-based streaming rollout pipeline for training LLM agents with RL.",
        subcommands = {BrokerCommand.class, TopicsCommand.class, EnvServiceCommand.class, LearnerCommand.class,
            PolicyCommand.class, ActorCommand.class, LocalCommand.class, ExperimentCommand.class, FaultCommand.class,
            SoakCommand.class, ScaleOutCommand.class,
            CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 topics differ from the catalog, 2 bad usage, 3 Kafka unreachable or failed,",
            "4 a model, tokenizer or adapter cannot be used."})
public final class RolloutCommand extends RootCommand {

    /** Exit code when existing topics differ from the catalog. */
    static final int EXIT_MISMATCH = 1;
    /** Exit code for bad flags or values (picocli's default for usage errors). */
    static final int EXIT_USAGE = CommandLines.EXIT_USAGE;
    /** Exit code when Kafka cannot be reached or an operation against it fails. */
    static final int EXIT_KAFKA = 3;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests call {@code execute} on it without exiting the JVM. */
    static CommandLine commandLine() {
        return CommandLines.of(new RolloutCommand(), EXIT_KAFKA);
    }
}
