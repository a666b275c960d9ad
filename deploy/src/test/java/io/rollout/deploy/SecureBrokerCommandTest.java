package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.broker.TlsFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rollout broker --security sasl_ssl} as its own process (its security settings differ
 * from the shared broker's): SCRAM users over TLS, the client settings it writes, a wrong
 * password refused, and no secret on its output, its command line or its data directory.
 */
class SecureBrokerCommandTest {

    static final String ALICE_PASSWORD = "alice-Scram-Pw-4711";
    private static final String BOB_PASSWORD = "bob-Scram-Pw-0815";

    @TempDir
    Path dir;

    /** The broker's arguments for user {@code user} with the password in {@code dir/USER.pw}. */
    static List<String> brokerArgs(Path dir, int port, String user, String password) throws Exception {
        Path passwordFile = Files.writeString(dir.resolve(user + ".pw"), password + "\n");
        return List.of("broker", "--data-dir", dir.resolve("data").toString(), "--port", Integer.toString(port),
                "--security", "sasl_ssl", "--generate-tls-dir", dir.resolve("tls").toString(),
                "--scram-user", user, "--scram-password-file", passwordFile.toString(),
                "--client-config", dir.resolve(user + ".properties").toString(), "--metrics-port", "0");
    }

    @Test
    void shouldAuthenticateScramUsersOverTlsAndRefuseAWrongPasswordOrPlaintext() throws Exception {
        Properties alice;
        int port;
        String truststore;
        try (RolloutProcess broker = RolloutProcess.start(dir, "broker", "512m",
                append(brokerArgs(dir, 0, "alice", ALICE_PASSWORD), "--create-topics"))) {
            Path clientConfig = Path.of(broker.awaitLine("client-config=", Duration.ofSeconds(90)));
            String bootstrap = broker.awaitLine("bootstrap=", Duration.ofSeconds(90));
            port = Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
            assertThat(clientConfig).isEqualTo(dir.resolve("alice.properties"));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(clientConfig))).isEqualTo("rw-------");
            alice = load(clientConfig);
            assertThat(alice.getProperty("bootstrap.servers")).isEqualTo(bootstrap);
            assertThat(alice.getProperty("security.protocol")).isEqualTo("SASL_SSL");
            assertThat(alice.getProperty("sasl.mechanism")).isEqualTo("SCRAM-SHA-512");
            truststore = Files.readString(dir.resolve("tls").resolve("client.truststore.password"));

            // --create-topics went through SASL_SSL too.
            try (Admin admin = Admin.create(alice)) {
                assertThat(admin.listTopics().names().get()).contains("rollout.steps", "policy.weights");
            }
            assertThat(roundTrip(alice, "secure.roundtrip")).isEqualTo("hello");
            assertRefused(withPassword(alice, "not-" + ALICE_PASSWORD), SaslAuthenticationException.class);
            Properties plaintext = new Properties();
            plaintext.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            assertRefused(plaintext, TimeoutException.class);

            String keystorePassword = TlsFiles.in(dir.resolve("tls")).keystorePassword();
            List<String> secrets = List.of(ALICE_PASSWORD, keystorePassword);
            assertNoSecret(secrets, "command line", broker.commandLine());
            assertNoSecret(secrets, "stdout", broker.stdout());
            assertNoSecret(secrets, "stderr", broker.stderr());
            assertNoSecret(secrets, "server.properties", Files.readString(dir.resolve("data/server.properties")));
            assertThat(broker.stderr()).contains("with SCRAM users [alice]");
        }

        // A restart on the same data and TLS directories adds bob; alice and the truststore stay.
        try (RolloutProcess broker = RolloutProcess.start(dir, "broker2", "512m",
                brokerArgs(dir, port, "bob", BOB_PASSWORD))) {
            broker.awaitLine("bootstrap=", Duration.ofSeconds(90));
            Properties bob = load(dir.resolve("bob.properties"));

            assertThat(roundTrip(bob, "secure.bob")).isEqualTo("hello");
            assertThat(roundTrip(alice, "secure.alice")).isEqualTo("hello");
            assertThat(bob.getProperty("ssl.truststore.password")).isEqualTo(truststore.strip());
            assertThat(broker.stderr()).contains("SCRAM users [bob] set on the existing storage");
            assertNoSecret(List.of(BOB_PASSWORD), "stderr", broker.stderr());
        }
    }

    @Test
    void shouldRejectIncompleteSecurityOptionsBeforeStartingABroker() throws Exception {
        Path pw = Files.writeString(dir.resolve("pw"), "x\n");
        String data = dir.resolve("data").toString();
        for (String[] args : new String[][] {
            {"broker", "--data-dir", data, "--security", "tls"},
            {"broker", "--data-dir", data, "--security", "sasl_ssl", "--scram-user", "a", "--scram-password-file", pw.toString()},
            {"broker", "--data-dir", data, "--security", "sasl_ssl", "--generate-tls-dir", dir.toString()},
            {"broker", "--data-dir", data, "--security", "sasl_ssl", "--keystore", pw.toString(), "--scram-user", "a",
                "--scram-password-file", pw.toString()},
            {"broker", "--data-dir", data, "--scram-user", "a", "--scram-password-file", pw.toString()},
            {"broker", "--data-dir", data, "--security", "sasl_ssl", "--generate-tls-dir", dir.resolve("t").toString(),
                "--scram-user", "a", "--scram-password-file", dir.resolve("missing").toString()},
        }) {
            Cli run = Cli.run(args);

            assertThat(run.exitCode()).as("%s: %s", String.join(" ", args), run.err()).isEqualTo(RolloutCommand.EXIT_USAGE);
            assertThat(run.err()).startsWith("error: ").doesNotContain("\tat ");
        }
        assertThat(dir.resolve("data/meta.properties")).doesNotExist();
        assertThat(Cli.run("broker", "--data-dir", data, "--security", "sasl_ssl", "--generate-tls-dir",
                dir.resolve("t").toString(), "--scram-user", "a", "--scram-password-file",
                dir.resolve("missing").toString()).err()).contains("--scram-password-file", "missing");
    }

    static void assertNoSecret(List<String> secrets, String where, String text) {
        for (String secret : secrets) {
            assertThat(text).as("a secret in %s", where).doesNotContain(secret);
        }
    }

    private static List<String> append(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all;
    }

    static Properties load(Path file) throws Exception {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file)) {
            p.load(in);
        }
        return p;
    }

    static Properties withPassword(Properties client, String password) {
        Properties p = new Properties();
        p.putAll(client);
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required "
                + "username=\"alice\" password=\"" + password + "\";");
        return p;
    }

    /** An admin call with these settings fails, with {@code expected} somewhere in the causes. */
    static void assertRefused(Properties client, Class<? extends Throwable> expected) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "4000");
        try (Admin admin = Admin.create(p)) {
            assertThatThrownBy(() -> admin.describeCluster().clusterId().get())
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(expected);
        }
    }

    /** Creates {@code topic}, writes one record and reads it back. */
    private static String roundTrip(Properties client, String topic) throws Exception {
        try (Admin admin = Admin.create(client)) {
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(topic, 1, (short) 1))).all().get();
        }
        Properties producer = new Properties();
        producer.putAll(client);
        producer.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, String> p = new KafkaProducer<>(producer, new StringSerializer(), new StringSerializer())) {
            p.send(new ProducerRecord<>(topic, "k", "hello")).get();
        }
        Properties consumer = new Properties();
        consumer.putAll(client);
        consumer.put(ConsumerConfig.GROUP_ID_CONFIG, topic + ".reader");
        consumer.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(consumer, new StringDeserializer(), new StringDeserializer())) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    return r.value();
                }
            }
        }
        return null;
    }
}
