package io.rollout.actor.cli;

import io.rollout.runtime.cli.RootCommand;
import io.rollout.runtime.config.CommandLines;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code actor-service}: rollout actors. */
@Command(
        name = "actor-service",
        description = "Rollout actors: play tasks from rollout.tasks with the policy against env-service and publish steps.",
        subcommands = {RunCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 a failure (for run: the actor failed, see run --help), 2 bad usage."})
public final class ActorCommand extends RootCommand {

    /**
     * The actors' consumer group on rollout.tasks without --consumer-group: the run prefix followed
     * by this. Deployments that scale on the group's lag (deploy/k8s) name it too.
     */
    public static final String DEFAULT_CONSUMER_GROUP = "actors";

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        return CommandLines.of(new ActorCommand(), 1);
    }
}
