package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Bad input gets a one-line error and a non-zero exit, in bounded time, never a stack trace. */
class CommandLineTest {

    @Test
    void shouldListTheSubcommandsInHelp() {
        Cli run = Cli.run("--help");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("broker", "topics", "env-service", "learner-service", "policy");
    }

    @Test
    void shouldFormatTheHelpOfEveryCommandWithoutWarnings() {
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream warnings = new java.io.ByteArrayOutputStream();
        java.util.List<String> names = new java.util.ArrayList<>();
        try {
            System.setErr(new java.io.PrintStream(warnings, true, java.nio.charset.StandardCharsets.UTF_8));
            java.util.Deque<picocli.CommandLine> todo = new java.util.ArrayDeque<>(java.util.List.of(RolloutCommand.commandLine()));
            while (!todo.isEmpty()) {
                picocli.CommandLine c = todo.pop();
                names.add(c.getCommandSpec().qualifiedName());
                // An unescaped percent sign makes picocli print the text raw, %n included, and warn.
                assertThat(c.getUsageMessage()).as(c.getCommandSpec().qualifiedName()).doesNotContain("%n");
                todo.addAll(c.getSubcommands().values());
            }
        } finally {
            System.setErr(stderr);
        }
        assertThat(names).contains("rollout local", "rollout learner-service advantage-stream");
        assertThat(warnings.toString(java.nio.charset.StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void shouldRejectABadDurationOfTheAdvantageApp() {
        Cli run = Cli.run("learner-service", "advantage-stream", "--bootstrap", "127.0.0.1:9", "--group-timeout", "soon");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).contains("--group-timeout").contains("soon");
    }

    @Test
    void shouldRunTheOfflineGigpoCommand(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path in = java.nio.file.Files.writeString(dir.resolve("in.jsonl"),
                "{\"group\":\"g\",\"episode\":0,\"t\":0,\"anchor\":\"a\",\"reward\":1,\"valid\":true}\n"
                        + "{\"group\":\"g\",\"episode\":1,\"t\":0,\"anchor\":\"a\",\"reward\":0,\"valid\":true}\n");
        Cli run = Cli.run("learner-service", "gigpo", "--input", in.toString(), "--output", dir.resolve("out.jsonl").toString());

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("rows=2 groups=1");
        assertThat(java.nio.file.Files.readString(dir.resolve("out.jsonl"))).contains("\"episode_advantage\":0.5", "\"advantage\":1.0", "\"advantage\":-1.0");
    }

    @Test
    void shouldRejectBadLocalAndWarmStartSettingsBeforeStartingAnything() {
        for (String[] args : new String[][] {
            {"local", "--warm-start", "maybe"},
            {"local", "--format", "json"},
            {"local", "--history", "-1"},
            {"local", "--warm-start-demos", "0"},
            {"local", "--clip-c", "0.5"},
            {"local", "--lora-targets", "q_proj,attn"},
            {"local", "--env-config", "min_solution=30", "--eval-levels", "0", "--warm-start", "off", "--minutes", "0.01"},
            {"policy", "warm-start", "--model", "/nonexistent", "--out", "/tmp/x", "--env", "chess"},
        }) {
            Cli run = Cli.run(args);

            assertThat(run.exitCode()).as("%s: %s", String.join(" ", args), run.err()).isEqualTo(RolloutCommand.EXIT_USAGE);
            assertThat(run.err()).startsWith("error: ").doesNotContain("\tat ");
        }
    }

    @Test
    void shouldRejectAnUnknownFlag() {
        Cli run = Cli.run("topics", "--bootstrap", "127.0.0.1:9092", "--no-such-flag");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err().lines().findFirst()).hasValue("error: Unknown option: '--no-such-flag'");
        assertThat(run.err()).doesNotContain("\tat ");
    }

    @Test
    void shouldRejectABootstrapAddressWithoutAPort() {
        Cli run = Cli.run("topics", "--bootstrap", "localhost");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).startsWith("error: bad bootstrap address 'localhost': expected HOST:PORT");
    }

    @Test
    void shouldRequireABootstrapAddress() {
        Cli run = Cli.run("topics");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).startsWith("error: no Kafka bootstrap address");
    }

    @Test
    void shouldRejectAnUnresolvableHostInOneLine() {
        Cli run = Cli.run("topics", "--bootstrap", "no-such-host.invalid:9092");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_KAFKA);
        assertThat(run.err().lines()).hasSize(1).first().asString()
                .startsWith("error: cannot create a Kafka client for no-such-host.invalid:9092");
    }

    @Test
    void shouldGiveUpOnAnUnreachableBrokerWithinTheTimeout() {
        long start = System.nanoTime();
        Cli run = Cli.run("topics", "--bootstrap", "127.0.0.1:1", "--timeout", "2s");
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_KAFKA);
        assertThat(run.err().lines()).containsExactly("error: no answer from Kafka at 127.0.0.1:1 within 2s");
        assertThat(took).isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void shouldRejectAnUnknownTopicInPartitions() {
        Cli run = Cli.run("topics", "--bootstrap", "127.0.0.1:9092", "--partitions", "rollout.step=3");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).contains("unknown topic 'rollout.step'");
    }

    @Test
    void shouldRejectAnUnreadableKafkaConfigFile() {
        Cli run = Cli.run("topics", "--bootstrap", "127.0.0.1:9092", "--kafka-config", "/no/such/file.properties");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).contains("cannot read Kafka properties file /no/such/file.properties");
    }

    @Test
    void shouldRejectAPortOutOfRange() {
        Cli run = Cli.run("broker", "--port", "70000");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).startsWith("error: --port must be in 0..65535, got 70000");
    }
}
