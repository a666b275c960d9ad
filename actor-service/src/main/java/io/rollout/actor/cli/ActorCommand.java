package io.rollout.actor.cli;

import io.rollout.schemas.config.CommandLines;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code actor-service}: rollout actors. */
@Command(
        name = "actor-service",
        mixinStandardHelpOptions = true,
        versionProvider = ActorCommand.Version.class,
        description = "Rollout actors: play tasks from rollout.tasks with the policy against env-service and publish steps.",
        subcommands = {RunCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 a failure (for run: the actor failed, see run --help), 2 bad usage."})
public final class ActorCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        return CommandLines.of(new ActorCommand(), 1);
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = ActorCommand.class.getPackage().getImplementationVersion();
            return new String[] {"actor-service " + (version == null ? "(development build)" : version)};
        }
    }
}
