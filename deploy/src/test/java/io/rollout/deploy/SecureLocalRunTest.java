package io.rollout.deploy;

import static io.rollout.deploy.SecureBrokerCommandTest.ALICE_PASSWORD;
import static io.rollout.deploy.SecureBrokerCommandTest.assertNoSecret;
import static io.rollout.deploy.SecureBrokerCommandTest.assertRefused;
import static io.rollout.deploy.SecureBrokerCommandTest.brokerArgs;
import static io.rollout.deploy.SecureBrokerCommandTest.load;
import static io.rollout.deploy.SecureBrokerCommandTest.withPassword;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.broker.TlsFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rollout local} against a SASL_SSL broker: every client of the run (admin, advantage
 * stream, scheduler, trainer, actor, step monitor, final weight reader) connects with the
 * {@code --kafka-config} the broker wrote, since the broker has no other listener a client can
 * reach, and no password shows in what the run writes or in either process's command line.
 */
class SecureLocalRunTest {

    @TempDir
    Path dir;

    @Test
    void shouldTrainAgainstASaslSslBrokerWithoutShowingASecret() throws Exception {
        try (RolloutProcess broker = RolloutProcess.start(dir, "broker", "512m", brokerArgs(dir, 0, "alice", ALICE_PASSWORD))) {
            Path clientConfig = Path.of(broker.awaitLine("client-config=", Duration.ofSeconds(90)));
            String bootstrap = broker.awaitLine("bootstrap=", Duration.ofSeconds(90));
            Properties alice = load(clientConfig);
            assertRefused(withPassword(alice, "wrong-" + ALICE_PASSWORD), SaslAuthenticationException.class);

            Path report = dir.resolve("report");
            String commandLine;
            int exit;
            String out;
            String err;
            try (RolloutProcess local = RolloutProcess.start(dir, "local", "1g", List.of("local",
                    "--bootstrap", bootstrap, "--kafka-config", clientConfig.toString(), "--prefix", "sec.",
                    "--versions", "1", "--minutes", "5", "--eval-levels", "1", "--group-size", "4",
                    "--batch-groups", "2", "--actors", "1", "--groups-in-flight", "1", "--max-steps", "8",
                    "--warm-start", "off", "--max-new-tokens", "6", "--progress-every", "2s",
                    "--report", report.toString()))) {
                commandLine = local.commandLine();
                exit = local.waitFor(Duration.ofMinutes(8));
                out = local.stdout();
                err = local.stderr();
            }

            assertThat(exit).as("exit code; stderr:\n%s\nstdout:\n%s", err, out).isZero();
            assertThat(out).contains("bootstrap=" + bootstrap, "stopping: reached 1 versions",
                    "eval after training (version ");
            JsonNode r = new ObjectMapper().readTree(report.resolve("report.json").toFile());
            assertThat(r.path("config").path("embedded_broker").asBoolean()).isFalse();
            assertThat(r.path("config").path("kafka_security_protocol").asText()).isEqualTo("SASL_SSL");
            List<JsonNode> versions = new ArrayList<>();
            r.path("versions").forEach(versions::add);
            assertThat(versions).anySatisfy(v -> {
                assertThat(v.path("version").asLong()).isEqualTo(1);
                assertThat(v.path("samples").asInt()).isPositive();
            });
            assertThat(versions.get(0).path("steps").asLong()).as("steps the monitor read").isPositive();
            assertThat(r.path("eval").path("final").path("version").asLong()).isGreaterThanOrEqualTo(1);

            TlsFiles tls = TlsFiles.in(dir.resolve("tls"));
            List<String> secrets = List.of(ALICE_PASSWORD, tls.keystorePassword(), tls.truststorePassword());
            assertNoSecret(secrets, "local's command line", commandLine);
            assertNoSecret(secrets, "the broker's command line", broker.commandLine());
            assertNoSecret(secrets, "local's stdout", out);
            assertNoSecret(secrets, "local's stderr", err);
            assertNoSecret(secrets, "local.log", Files.readString(report.resolve("local.log")));
            assertNoSecret(secrets, "report.json", Files.readString(report.resolve("report.json")));
            assertNoSecret(secrets, "the broker's stdout", broker.stdout());
            assertNoSecret(secrets, "the broker's stderr", broker.stderr());
        }
    }

    @Test
    void shouldRefuseSecuredKafkaSettingsForTheEmbeddedBrokerAndAnUnreadableConfig() {
        for (String[] args : new String[][] {
            {"local", "--kafka", "security.protocol=SASL_SSL", "--warm-start", "off", "--eval-levels", "0"},
            {"local", "--kafka-config", dir.resolve("missing.properties").toString(), "--warm-start", "off"},
            {"local", "--bootstrap", "no-port", "--warm-start", "off"},
        }) {
            Cli run = Cli.run(args);

            assertThat(run.exitCode()).as("%s: %s", String.join(" ", args), run.err()).isEqualTo(RolloutCommand.EXIT_USAGE);
            assertThat(run.err()).startsWith("error: ").doesNotContain("\tat ");
        }
        assertThat(Cli.run("local", "--kafka", "security.protocol=SASL_SSL").err())
                .contains("the embedded broker speaks PLAINTEXT: pass --bootstrap");
        assertThat(Cli.run("local", "--kafka-config", dir.resolve("missing.properties").toString()).err())
                .contains("--kafka-config: cannot read Kafka properties file " + dir.resolve("missing.properties"));
    }
}
