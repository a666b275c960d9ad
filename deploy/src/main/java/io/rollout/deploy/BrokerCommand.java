package io.rollout.deploy;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.broker.EmbeddedKafkaBroker;
import io.rollout.broker.ScramClientConfig;
import io.rollout.broker.SecretFiles;
import io.rollout.broker.TlsFiles;
import io.rollout.runtime.cli.EnvDefaults;
import io.rollout.runtime.metrics.MetricsAuthOptions;
import io.rollout.runtime.metrics.MetricsHttpServer;
import io.rollout.runtime.metrics.Registries;
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
        modelTransformer = BrokerCommand.Env.class,
        description = {
            "Runs a real single-node Apache Kafka broker (KRaft) until stopped with SIGTERM or Ctrl-C.",
            "Prints 'metrics=URL' once /metrics, /health and /ready serve (both UP while the broker runs), then",
            "'bootstrap=HOST:PORT' on one line of standard output once it accepts clients. /metrics has the",
            "broker's own meters and consumer-group lag under Kafka Exporter's names (docs/broker.md).",
            "A restart on the same data directory keeps the cluster id, topics and data.",
            "With --security sasl_ssl clients connect over TLS and authenticate with SCRAM-SHA-512; the broker",
            "writes the client settings to --client-config and prints 'client-config=FILE' before the bootstrap",
            "line. Passwords are read from files, never from the command line. See docs/security.md.",
            "Give it a modest heap, e.g. java -Xmx512m -jar rollout.jar broker.",
            "Every option can also come from an environment variable, named in its description."
        })
final class BrokerCommand implements Callable<Integer> {

    /**
     * Port of {@code /metrics} unless told: next to the services' 9404 (advantage-stream), 9405
     * (train) and 9406 (actor-service run), so that all of them run on one machine by default.
     */
    static final int DEFAULT_METRICS_PORT = 9407;

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

    @Option(names = "--metrics-host", paramLabel = "HOST", defaultValue = "${env:BROKER_METRICS_HOST:-127.0.0.1}",
            description = "Address of /metrics, /health and /ready (default: ${DEFAULT-VALUE}; env BROKER_METRICS_HOST).")
    private String metricsHost;

    @Option(names = "--metrics-port", paramLabel = "PORT",
            defaultValue = "${env:BROKER_METRICS_PORT:-" + DEFAULT_METRICS_PORT + "}",
            description = "Port of /metrics, /health and /ready; 0 takes a free one (default: ${DEFAULT-VALUE}; "
                    + "env BROKER_METRICS_PORT).")
    private int metricsPort;

    @Option(names = "--metrics-interval", paramLabel = "DURATION", defaultValue = "${env:BROKER_METRICS_INTERVAL:-10s}",
            description = "How often consumer-group lag, end offsets and log sizes are read for /metrics; a scrape "
                    + "shows the last read (default: ${DEFAULT-VALUE}; env BROKER_METRICS_INTERVAL).")
    private Duration metricsInterval;

    @CommandLine.Mixin
    private MetricsAuthOptions metricsAuth = new MetricsAuthOptions();

    @Option(names = "--override", paramLabel = "KEY=VALUE",
            description = "A broker setting over the defaults, e.g. --override log.retention.hours=24. Repeatable.")
    private Map<String, String> overrides = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be in 0..65535, got " + port);
        }
        if (metricsPort < 0 || metricsPort > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--metrics-port must be in 0..65535, got " + metricsPort);
        }
        if (metricsInterval.isNegative() || metricsInterval.isZero()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--metrics-interval must be positive");
        }
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().dataDir(dataDir).host(host).port(port);
        overrides.forEach(builder::override);
        ClientSecurity client = security(builder);

        // Serving first: a taken metrics port stops the command before the broker takes the data
        // directory, and /health and /ready answer 503 while the broker starts or recovers its logs.
        PrometheusMeterRegistry registry = Registries.prometheusWithJvmMeters();
        MetricsHttpServer http = startMetrics(registry);
        spec.commandLine().getOut().println("metrics=" + http.url());
        spec.commandLine().getOut().flush();
        EmbeddedKafkaBroker broker;
        try {
            broker = builder.start();
        } catch (RuntimeException e) {
            http.close();
            throw e;
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        if (client != null) {
            props = client.properties(broker.bootstrapServers());
        }
        BrokerMetrics metrics = BrokerMetrics.of(props);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            metrics.close();
            broker.close();
            http.close();
            stopped.countDown();
        }, "broker-shutdown"));

        metrics.bindTo(registry);
        metrics.start(metricsInterval);
        if (client != null) {
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

    /**
     * Serves {@code /metrics}, {@code /health} and {@code /ready}, both UP while the broker in this
     * JVM says it runs; a refused address or an unreadable token file is a usage error.
     */
    private MetricsHttpServer startMetrics(PrometheusMeterRegistry registry) {
        try {
            return MetricsHttpServer.start(metricsHost, metricsPort, registry, BrokerMetrics::brokerRunning,
                    BrokerMetrics::brokerRunning, metricsAuth.auth());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
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

    /** Every option from BROKER_ and its name: BROKER_DATA_DIR, BROKER_PORT, BROKER_METRICS_PORT, ... */
    static final class Env extends EnvDefaults {
        Env() {
            super("BROKER_", Scope.EVERY_OPTION);
        }
    }
}
