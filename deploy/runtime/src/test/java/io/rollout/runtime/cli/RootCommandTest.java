package io.rollout.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.runtime.config.CommandLines;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;

class RootCommandTest {

    @Command(name = "leaf")
    static final class Leaf implements Runnable {
        @Override
        public void run() {
        }
    }

    @Command(name = "root", subcommands = Leaf.class)
    static final class Root extends RootCommand {
    }

    @Test
    void shouldRefuseARootCommandWithoutSubcommandAndTellItsVersion() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = CommandLines.of(new Root(), 1);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));

        assertThat(cli.execute()).isEqualTo(CommandLines.EXIT_USAGE);
        assertThat(err.toString()).startsWith("error: missing subcommand");
        assertThat(cli.execute("--version")).isZero();
        assertThat(out.toString()).isEqualTo("root (development build)" + System.lineSeparator());
        out.getBuffer().setLength(0);
        assertThat(cli.execute("--help")).isZero();
        assertThat(out.toString()).contains("-V, --version", "leaf");
    }
}
