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
        assertThat(run.out()).contains("broker", "topics", "env-service");
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
