package io.rollout.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SASL_SSL settings of the embedded broker and of its clients, without starting one: a
 * broker with these settings runs as a process of its own in deploy's SecureBrokerCommandTest
 * (one embedded broker per test JVM).
 */
class SecureBrokerSettingsTest {

    @Test
    void shouldPutClientsOnSaslSslAndKeepTheControllerAndInterBrokerListenersOnLoopback(@TempDir Path dir) {
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().dataDir(dir).host("10.0.0.7")
                .saslSsl(dir.resolve("ks.p12"), "keystore-pw").scramUser("alice", "alice-pw");

        Properties p = builder.serverProperties(9093, 40001, 40002);

        assertThat(p.getProperty("listeners"))
                .isEqualTo("SASL_SSL://10.0.0.7:9093,INTERNAL://127.0.0.1:40002,CONTROLLER://127.0.0.1:40001");
        assertThat(p.getProperty("advertised.listeners")).isEqualTo("SASL_SSL://10.0.0.7:9093,INTERNAL://127.0.0.1:40002");
        assertThat(p.getProperty("controller.quorum.voters")).isEqualTo("1@127.0.0.1:40001");
        assertThat(p.getProperty("inter.broker.listener.name")).isEqualTo("INTERNAL");
        assertThat(p.getProperty("listener.name.sasl_ssl.sasl.enabled.mechanisms")).isEqualTo("SCRAM-SHA-512");
        assertThat(p.getProperty("listener.name.sasl_ssl.ssl.keystore.password")).isEqualTo("keystore-pw");
        // Written to the data directory without them.
        assertThat(p.stringPropertyNames().stream().filter(EmbeddedKafkaBroker::isSecret))
                .containsExactlyInAnyOrder("listener.name.sasl_ssl.ssl.keystore.password",
                        "listener.name.sasl_ssl.ssl.key.password", "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config");
        assertThat(EmbeddedKafkaBroker.builder().dataDir(dir).serverProperties(9092, 40001, 0).getProperty("listeners"))
                .isEqualTo("PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:40001");
    }

    @Test
    void shouldRefuseSaslSslWithoutUsersAndUsersWithoutSaslSsl(@TempDir Path dir) throws Exception {
        Path keystore = Files.writeString(dir.resolve("ks.p12"), "x");

        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().dataDir(dir).saslSsl(keystore, "pw").start())
                .hasMessageContaining("at least one SCRAM user");
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().dataDir(dir).scramUser("alice", "pw").start())
                .hasMessageContaining("SCRAM users need a SASL_SSL listener");
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().dataDir(dir).saslSsl(dir.resolve("none.p12"), "pw")
                .scramUser("alice", "pw").start()).hasMessageContaining("cannot read the keystore");
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().scramUser("al,ice", "pw"))
                .hasMessageContaining("SCRAM user name");
        assertThatThrownBy(() -> EmbeddedKafkaBroker.builder().scramUser("alice", ""))
                .hasMessageContaining("empty password");
    }

    @Test
    void shouldWriteClientSettingsOnlyTheOwnerReadsWithTheJaasValuesEscaped(@TempDir Path dir) throws Exception {
        Properties p = ScramClientConfig.saslSsl("127.0.0.1:9093", "alice", "pa\"ss\\word", dir.resolve("ts.p12"), "tpw");
        Path file = dir.resolve("client.properties");

        ScramClientConfig.write(file, p, "test");

        Properties read = new Properties();
        try (var in = Files.newBufferedReader(file)) {
            read.load(in);
        }
        assertThat(read).isEqualTo(p);
        assertThat(read.getProperty("security.protocol")).isEqualTo("SASL_SSL");
        assertThat(read.getProperty("sasl.mechanism")).isEqualTo("SCRAM-SHA-512");
        assertThat(read.getProperty("sasl.jaas.config")).isEqualTo("org.apache.kafka.common.security.scram."
                + "ScramLoginModule required username=\"alice\" password=\"pa\\\"ss\\\\word\";");
        // Kafka's own parser reads back the password.
        var jaas = org.apache.kafka.common.security.JaasContext.loadClientContext(java.util.Map.of("sasl.jaas.config",
                new org.apache.kafka.common.config.types.Password(read.getProperty("sasl.jaas.config"))));
        assertThat(jaas.configurationEntries().get(0).getOptions().get("password")).isEqualTo("pa\"ss\\word");
        assertThat(read.getProperty("ssl.truststore.location")).isEqualTo(dir.resolve("ts.p12").toAbsolutePath().toString());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    }

    @Test
    void shouldReadASecretsFirstLineAndNameAnEmptyFileWithoutContent(@TempDir Path dir) throws Exception {
        assertThat(SecretFiles.read(Files.writeString(dir.resolve("a"), "pw with space \r\nignored"), "x"))
                .isEqualTo("pw with space ");
        assertThat(SecretFiles.read(Files.writeString(dir.resolve("b"), "no-newline"), "x")).isEqualTo("no-newline");
        assertThatThrownBy(() -> SecretFiles.read(Files.writeString(dir.resolve("c"), "\nsecond"), "--scram-password-file"))
                .hasMessageContaining("--scram-password-file").hasMessageContaining("empty")
                .hasMessageNotContaining("second");
        assertThatThrownBy(() -> SecretFiles.read(dir.resolve("missing"), "--scram-password-file"))
                .hasMessageContaining("cannot read");
    }
}
