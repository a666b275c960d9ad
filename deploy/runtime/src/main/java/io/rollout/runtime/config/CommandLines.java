package io.rollout.runtime.config;

import java.time.Duration;
import picocli.CommandLine;

/** How every service's command line behaves: durations like 500ms/30s/10m, one-line errors, exit 2 for usage. */
public final class CommandLines {

    /** Exit code for bad flags or values (picocli's default for usage errors). */
    public static final int EXIT_USAGE = 2;

    private CommandLines() {}

    /**
     * A command line for {@code command}: a failure prints {@code error: <message>} and exits
     * with {@code failureExit}; a usage error prints the message and a {@code --help} hint and
     * exits with {@link #EXIT_USAGE}.
     */
    public static CommandLine of(Object command, int failureExit) {
        CommandLine cli = new CommandLine(command);
        cli.registerConverter(Duration.class, Durations::parse);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + oneLine(e));
            return failureExit;
        });
        cli.setParameterExceptionHandler((e, args) -> {
            CommandLine at = e.getCommandLine();
            at.getErr().println("error: " + e.getMessage());
            at.getErr().println("Try '" + at.getCommandSpec().qualifiedName() + " --help' for more information.");
            return EXIT_USAGE;
        });
        return cli;
    }

    /** The message of {@code e} and its causes on one line, without stack traces. */
    public static String oneLine(Throwable e) {
        StringBuilder out = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            if (out.indexOf(message) < 0) {
                out.append(out.length() == 0 ? "" : ": ").append(message);
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return out.toString().replace('\n', ' ');
    }
}
