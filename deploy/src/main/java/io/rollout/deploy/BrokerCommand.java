package io.rollout.deploy;

import io.rollout.broker.EmbeddedKafkaBroker;
import io.rollout.broker.ScramClientConfig;
import io.rollout.broker.SecretFiles;
import io.rollout.broker.TlsFiles;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the embedded single-node KRaft broker as a process of its own until SIGTERM. */
@Command(
        name = "broker",
        mixinStandardHelpOptions = true,
        description = {
            "Runs a real single-node Apache Kafka broker (KRaft) until stopped with SIGTERM or Ctrl-C.",
            "Prints 'bootstrap=HOST:PORT' on one line of standard output once it accepts clients.",
            "A restart on the same data directory keeps the cluster id, topics and data.",
            "With --security sasl_ssl clients connect over TLS and authenticate with SCRAM-SHA-512; the broker",
            "writes the client settings to --client-config and prints 'client-config=FILE' before the bootstrap",
            "line. Passwords are read from files, never from the command line. See docs/security.md.",
            "Give it a modest heap, e.g. java -Xmx512m -jar rollout.jar broker."
        })
final class BrokerCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "data/broker",
            description = "Cluster id, metadata and topic data (default: ${DEFAULT-VALUE}).")
    private Path dataDir;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "9092",
            description = "Client port; 0 or a taken port falls back to a free one (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address to listen on and advertise (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--create-topics",
            description = "Create the pipeline's topics (the 'topics' command's catalog, default names) once ready.")
    private boolean createTopics;

    @Option(names = "--security", paramLabel = "PROTOCOL", defaultValue = "plaintext",
            description = "plaintext, or sasl_ssl: TLS and SCRAM-SHA-512 on the client port, with a keystore "
                    + "(--generate-tls-dir or --keystore) and a user (--scram-user) (default: ${DEFAULT-VALUE}).")
    private String security;

    @Option(names = "--generate-tls-dir", paramLabel = "DIR",
            description = "sasl_ssl: a self-signed keystore for --host (and localhost, 127.0.0.1) and a client "
                    + "truststore, with random passwords in files, made in DIR on first use and reused after.")
    private Path tlsDir;

    @Option(names = "--keystore", paramLabel = "FILE",
            description = "sasl_ssl: a PKCS12 keystore with the broker's certificate and key (instead of "
                    + "--generate-tls-dir); clients must trust its certificate.")
    private Path keystore;

    @Option(names = "--keystore-password-file", paramLabel = "FILE",
            description = "The first line of FILE is the --keystore's store and key password.")
    private Path keystorePasswordFile;

    @Option(names = "--scram-user", paramLabel = "NAME",
            description = "sasl_ssl: a SCRAM-SHA-512 user, created at the first start and given the password "
                    + "of --scram-password-file at every start; the client settings log in as it.")
    private String scramUser;

    @Option(names = "--scram-password-file", paramLabel = "FILE",
            description = "The first line of FILE is the --scram-user's password.")
    private Path scramPasswordFile;

    @Option(names = "--client-config", paramLabel = "FILE",
            description = "sasl_ssl: where to write the clients' Kafka settings (bootstrap, SASL, truststore), "
                    + "owner-readable only; pass it to any service with --kafka-config (default: "
                    + "DATA_DIR/client.properties).")
    private Path clientConfig;

    @Option(names = "--override", paramLabel = "KEY=VALUE",
            description = "A broker setting over the defaults, e.g. --override log.retention.hours=24. Repeatable.")
    private Map<String, String> overrides = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be in 0..65535, got " + port);
        }
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().dataDir(dataDir).host(host).port(port);
        overrides.forEach(builder::override);
        ClientSecurity client = security(builder);
        EmbeddedKafkaBroker broker = builder.start();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.close();
            stopped.countDown();
        }, "broker-shutdown"));

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        if (client != null) {
            props = client.properties(broker.bootstrapServers());
            Path file = clientConfig != null ? clientConfig : dataDir.resolve("client.properties");
            ScramClientConfig.write(file, props, "Kafka client settings for " + broker.bootstrapServers()
                    + " as " + scramUser + ", written by 'rollout broker'; keep this file private");
            spec.commandLine().getOut().println("client-config=" + file.toAbsolutePath());
        }
        if (createTopics) {
            try (Admin admin = Admin.create(props)) {
                TopicsCommand.report(TopicsCommand.provisioner(admin, Optional.empty(), Duration.ofSeconds(30))
                        .ensure(TopicCatalog.defaults().all()), spec.commandLine().getOut());
            }
        }
        spec.commandLine().getOut().println("bootstrap=" + broker.bootstrapServers());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }

    /** What a client needs besides the bootstrap address; null for PLAINTEXT. */
    private record ClientSecurity(String user, String password, Path truststore, String truststorePassword) {
        Properties properties(String bootstrap) {
            return ScramClientConfig.saslSsl(bootstrap, user, password, truststore, truststorePassword);
        }

        @Override
        public String toString() {
            return "ClientSecurity[user=" + user + ", truststore=" + truststore + "]";
        }
    }

    /** Validates the security options and applies them to {@code builder}. */
    private ClientSecurity security(EmbeddedKafkaBroker.Builder builder) {
        CommandLine cli = spec.commandLine();
        boolean anySecurityOption = tlsDir != null || keystore != null || keystorePasswordFile != null
                || scramUser != null || scramPasswordFile != null || clientConfig != null;
        switch (security.toLowerCase(Locale.ROOT)) {
            case "plaintext" -> {
                if (anySecurityOption) {
                    throw new CommandLine.ParameterException(cli, "--generate-tls-dir, --keystore, --scram-user and "
                            + "--client-config need --security sasl_ssl");
                }
                return null;
            }
            case "sasl_ssl" -> {
                // checked below
            }
            default -> throw new CommandLine.ParameterException(cli,
                    "--security must be plaintext or sasl_ssl, got " + security);
        }
        if ((tlsDir == null) == (keystore == null)) {
            throw new CommandLine.ParameterException(cli,
                    "--security sasl_ssl needs one of --generate-tls-dir DIR or --keystore FILE");
        }
        if ((keystore == null) != (keystorePasswordFile == null)) {
            throw new CommandLine.ParameterException(cli, "--keystore and --keystore-password-file go together");
        }
        if (scramUser == null || scramPasswordFile == null) {
            throw new CommandLine.ParameterException(cli,
                    "--security sasl_ssl needs --scram-user NAME and --scram-password-file FILE");
        }
        try {
            String password = SecretFiles.read(scramPasswordFile, "--scram-password-file");
            builder.scramUser(scramUser, password);
            if (tlsDir != null) {
                TlsFiles tls = TlsFiles.generate(tlsDir, host);
                builder.saslSsl(tls.keystore(), tls.keystorePassword());
                return new ClientSecurity(scramUser, password, tls.truststore(), tls.truststorePassword());
            }
            builder.saslSsl(keystore, SecretFiles.read(keystorePasswordFile, "--keystore-password-file"));
            return new ClientSecurity(scramUser, password, null, null);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new CommandLine.ParameterException(cli, e.getMessage());
        }
    }
}
