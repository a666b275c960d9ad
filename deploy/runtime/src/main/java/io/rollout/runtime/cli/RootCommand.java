package io.rollout.runtime.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * What the top command of every service's jar shares: {@code --help} and {@code --version} (the
 * command's name and the version in its jar's manifest), and a usage error when run without a
 * subcommand. A subclass adds its name, description and subcommands with its own {@code @Command}
 * and its {@code main}.
 */
@Command(mixinStandardHelpOptions = true, versionProvider = RootCommand.Version.class)
public abstract class RootCommand implements Runnable {

    @Spec
    private CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    /** {@code NAME VERSION}, the version from the manifest of the jar holding the command's class. */
    public static final class Version implements CommandLine.IVersionProvider {

        @Spec
        private CommandSpec spec;

        @Override
        public String[] getVersion() {
            String version = spec.userObject().getClass().getPackage().getImplementationVersion();
            return new String[] {spec.name() + " " + (version == null ? "(development build)" : version)};
        }
    }
}
