package io.rollout.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Apache Kafka broker in KRaft mode (combined broker and controller)
 * running inside this JVM. Its data directory keeps the cluster id, the topics and the
 * data across restarts. The local all-in-one run and the integration tests use it.
 *
 * <p>Built on Kafka's server classes ({@code KafkaRaftServer}, {@code StorageTool}), which
 * are internal APIs: the Kafka version is pinned in the parent pom and a test starts,
 * restarts and stops this broker. Broker threads are not daemons: {@link #close()} it,
 * e.g. from a shutdown hook. A fatal broker error halts the JVM (Kafka's own policy).
 *
 * <p>Clients speak PLAINTEXT by default. With {@link Builder#saslSsl} they speak SASL_SSL and
 * authenticate with SCRAM-SHA-512 as one of the {@link Builder#scramUser} users; the
 * controller and the inter-broker listener then stay on loopback, unauthenticated, so that
 * only processes on this machine reach them.
 *
 * <p>Longer than most classes because one KRaft broker's whole set-up (storage formatting,
 * listeners, SASL/SSL, SCRAM users, shutdown) is done in one place.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    static final String CLUSTER_ID_FILE = "cluster.id";
    static final String LOG_DIR = "kraft-logs";
    private static final int NODE_ID = 1;
    private static final String SASL_SSL = "SASL_SSL";
    private static final String PLAINTEXT = "PLAINTEXT";
    private static final String INTERNAL = "INTERNAL";
    private static final String LOOPBACK = "127.0.0.1";
    private static final int SCRAM_ITERATIONS = 8192;
    private static final Pattern SCRAM_USER = Pattern.compile("[A-Za-z0-9._@-]+");

    private final Path dataDir;
    private final String host;
    private final int port;
    private final String clusterId;
    private final KafkaRaftServer server;
    private boolean closed;

    private EmbeddedKafkaBroker(Path dataDir, String host, int port, String clusterId, KafkaRaftServer server) {
        this.dataDir = dataDir;
        this.host = host;
        this.port = port;
        this.clusterId = clusterId;
        this.server = server;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** {@code host:port} for the {@code bootstrap.servers} of clients. */
    public String bootstrapServers() {
        return host + ":" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public String clusterId() {
        return clusterId;
    }

    /** Stops the broker and waits until it has stopped; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        log.info("stopping Kafka broker at {}", bootstrapServers());
        server.shutdown();
        server.awaitShutdown();
        log.info("Kafka broker stopped");
    }

    /** Options of an embedded broker; {@link #start()} validates them and starts it. */
    public static final class Builder {
        private Path dataDir;
        private String host = "127.0.0.1";
        private int port;
        private final Map<String, String> overrides = new LinkedHashMap<>();
        private Path keystore;
        private String keystorePassword;
        private final Map<String, String> scramUsers = new LinkedHashMap<>();

        private Builder() {
        }

        /** Required: where the cluster id, the metadata log and the topic data live. */
        public Builder dataDir(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
            return this;
        }

        /** Address to listen on and advertise; loopback by default. */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** Client port; 0, or a port that is taken, falls back to a free one. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Clients connect over SASL_SSL (TLS, then SCRAM-SHA-512) instead of PLAINTEXT. The
         * server's certificate and key come from a PKCS12 keystore whose store and key password
         * is {@code keystorePassword} (e.g. from {@link TlsFiles#generate}). Needs at least one
         * {@link #scramUser}.
         */
        public Builder saslSsl(Path keystore, String keystorePassword) {
            this.keystore = Objects.requireNonNull(keystore, "keystore");
            this.keystorePassword = Objects.requireNonNull(keystorePassword, "keystorePassword");
            return this;
        }

        /**
         * A SCRAM-SHA-512 user of the SASL_SSL listener: written into the storage when it is
         * formatted, or created or given this password on a start over storage formatted
         * before. Users persist in the metadata log. Repeatable.
         */
        public Builder scramUser(String name, String password) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(password, "password");
            if (!SCRAM_USER.matcher(name).matches()) {
                throw new IllegalArgumentException("SCRAM user name must match " + SCRAM_USER + ", got '" + name + "'");
            }
            if (password.isEmpty()) {
                throw new IllegalArgumentException("SCRAM user " + name + " has an empty password");
            }
            scramUsers.put(name, password);
            return this;
        }

        /** Any broker setting, applied over this class's defaults. */
        public Builder override(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public EmbeddedKafkaBroker start() {
            if (dataDir == null) {
                throw new IllegalStateException("an embedded broker needs a data directory");
            }
            boolean secured = keystore != null;
            if (secured && scramUsers.isEmpty()) {
                throw new IllegalStateException("a SASL_SSL broker needs at least one SCRAM user");
            }
            if (!secured && !scramUsers.isEmpty()) {
                throw new IllegalStateException("SCRAM users need a SASL_SSL listener (saslSsl(keystore, password))");
            }
            if (secured && !Files.isReadable(keystore)) {
                throw new IllegalStateException("cannot read the keystore " + keystore);
            }
            try {
                Files.createDirectories(dataDir);
                InetAddress address = InetAddress.getByName(host);
                int brokerPort = choosePort(address, port);
                // Secured, only the client listener leaves this machine.
                InetAddress internal = secured ? InetAddress.getByName(LOOPBACK) : address;
                int controllerPort = choosePort(internal, 0);
                int internalPort = secured ? choosePort(internal, 0) : 0;
                String clusterId = clusterId(dataDir);
                Properties props = serverProperties(brokerPort, controllerPort, internalPort);
                Path propsFile = dataDir.resolve("server.properties");
                Properties withoutSecrets = new Properties();
                props.forEach((k, v) -> {
                    if (!isSecret(k.toString())) {
                        withoutSecrets.put(k, v);
                    }
                });
                try (Writer out = Files.newBufferedWriter(propsFile, StandardCharsets.UTF_8)) {
                    withoutSecrets.store(out, "written by the embedded broker at each start; edits are overwritten;"
                            + " passwords and JAAS settings are left out");
                }
                boolean formatted = formatIfNeeded(propsFile, clusterId);

                long started = System.nanoTime();
                KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
                try {
                    server.startup();
                } catch (RuntimeException e) {
                    server.shutdown();
                    server.awaitShutdown();
                    throw new IllegalStateException("Kafka broker failed to start in " + dataDir + ": " + e.getMessage(), e);
                }
                EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(dataDir, host, brokerPort, clusterId, server);
                if (secured && !formatted) {
                    try {
                        upsertScramUsers(LOOPBACK + ":" + internalPort);
                    } catch (RuntimeException e) {
                        broker.close();
                        throw e;
                    }
                }
                log.info("Kafka broker {} (cluster {}) ready in {} ms, data in {}", broker.bootstrapServers(), clusterId,
                        Duration.ofNanos(System.nanoTime() - started).toMillis(), dataDir);
                return broker;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot prepare broker data directory " + dataDir, e);
            }
        }

        Properties serverProperties(int brokerPort, int controllerPort, int internalPort) {
            Properties p = new Properties();
            p.put("process.roles", "broker,controller");
            p.put("node.id", Integer.toString(NODE_ID));
            p.put("controller.listener.names", "CONTROLLER");
            if (keystore == null) {
                p.put("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
                p.put("listeners", "PLAINTEXT://" + host + ":" + brokerPort + ",CONTROLLER://" + host + ":" + controllerPort);
                p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + brokerPort);
                p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
                p.put("inter.broker.listener.name", PLAINTEXT);
            } else {
                // Clients on SASL_SSL; the broker's own traffic (transaction markers sent to itself,
                // user upserts at start) and the controller on loopback PLAINTEXT.
                p.put("controller.quorum.voters", NODE_ID + "@" + LOOPBACK + ":" + controllerPort);
                p.put("listeners", SASL_SSL + "://" + host + ":" + brokerPort + "," + INTERNAL + "://" + LOOPBACK + ":"
                        + internalPort + ",CONTROLLER://" + LOOPBACK + ":" + controllerPort);
                p.put("advertised.listeners", SASL_SSL + "://" + host + ":" + brokerPort + "," + INTERNAL + "://"
                        + LOOPBACK + ":" + internalPort);
                p.put("listener.security.protocol.map", "SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT");
                p.put("inter.broker.listener.name", INTERNAL);
                String l = "listener.name.sasl_ssl.";
                p.put(l + "sasl.enabled.mechanisms", ScramClientConfig.MECHANISM);
                p.put(l + "scram-sha-512.sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required;");
                p.put(l + "ssl.keystore.type", "PKCS12");
                p.put(l + "ssl.keystore.location", keystore.toAbsolutePath().toString());
                p.put(l + "ssl.keystore.password", keystorePassword);
                p.put(l + "ssl.key.password", keystorePassword);
                p.put(l + "ssl.client.auth", "none");
            }
            p.put("log.dirs", dataDir.resolve(LOG_DIR).toAbsolutePath().toString());
            // One node: internal topics must not ask for more replicas, or groups and transactions hang.
            p.put("default.replication.factor", "1");
            p.put("min.insync.replicas", "1");
            p.put("offsets.topic.replication.factor", "1");
            p.put("offsets.topic.num.partitions", "5");
            p.put("transaction.state.log.replication.factor", "1");
            p.put("transaction.state.log.min.isr", "1");
            p.put("transaction.state.log.num.partitions", "5");
            p.put("share.coordinator.state.topic.replication.factor", "1");
            p.put("share.coordinator.state.topic.min.isr", "1");
            p.put("group.initial.rebalance.delay.ms", "0");
            // The consumer group protocol (KIP-848) otherwise waits 45 s for a killed member.
            p.put("group.consumer.min.session.timeout.ms", "6000");
            p.put("group.consumer.session.timeout.ms", "10000");
            // Topics come from the catalog; a typo must not create one silently.
            p.put("auto.create.topics.enable", "false");
            // Sized for a small heap: the 128 MiB cleaner buffer default needs more than that.
            p.put("log.cleaner.dedupe.buffer.size", Integer.toString(16 * 1024 * 1024));
            p.put("log.cleaner.threads", "1");
            p.put("num.network.threads", "2");
            p.put("num.io.threads", "4");
            p.put("background.threads", "4");
            p.put("num.recovery.threads.per.data.dir", "1");
            p.putAll(overrides);
            return p;
        }

        /** Formats the storage unless it was; true if it did. */
        private boolean formatIfNeeded(Path propsFile, String clusterId) {
            if (Files.exists(dataDir.resolve(LOG_DIR).resolve("meta.properties"))) {
                return false;
            }
            List<String> args = new ArrayList<>(List.of(
                    "format", "--cluster-id", clusterId, "--config", propsFile.toString(), "--ignore-formatted"));
            // Salted credentials, so the password itself never reaches the tool (or an error message).
            List<String> salted = new ArrayList<>();
            scramUsers.forEach((name, password) -> {
                String[] credential = saltedCredential(password);
                salted.add(credential[1]);
                args.add("--add-scram");
                args.add(ScramClientConfig.MECHANISM + "=[name=" + name + ",iterations=" + SCRAM_ITERATIONS
                        + ",salt=\"" + credential[0] + "\",saltedpassword=\"" + credential[1] + "\"]");
            });
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            int rc;
            try (PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8)) {
                rc = StorageTool.execute(args.toArray(String[]::new), out);
            } catch (RuntimeException e) {
                throw new IllegalStateException("cannot format broker storage in " + dataDir + ": "
                        + redact(String.valueOf(e.getMessage()), salted));
            }
            if (rc != 0) {
                throw new IllegalStateException("cannot format broker storage in " + dataDir + " (exit " + rc + "): "
                        + redact(output.toString(StandardCharsets.UTF_8).strip(), salted));
            }
            log.info("formatted broker storage in {} for cluster {}{}", dataDir, clusterId,
                    scramUsers.isEmpty() ? "" : " with SCRAM users " + scramUsers.keySet());
            return true;
        }

        /** Base64 salt and salted password of SCRAM-SHA-512 for {@code password}. */
        private static String[] saltedCredential(String password) {
            try {
                ScramFormatter formatter = new ScramFormatter(
                        org.apache.kafka.common.security.scram.internals.ScramMechanism.SCRAM_SHA_512);
                byte[] salt = formatter.secureRandomBytes();
                byte[] salted = formatter.saltedPassword(password, salt, SCRAM_ITERATIONS);
                return new String[] {Base64.getEncoder().encodeToString(salt), Base64.getEncoder().encodeToString(salted)};
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException("cannot derive a SCRAM credential: " + e.getMessage(), e);
            }
        }

        /** Creates the users, or sets their passwords, over the loopback inter-broker listener. */
        private void upsertScramUsers(String internalBootstrap) {
            List<UserScramCredentialAlteration> upserts = new ArrayList<>();
            scramUsers.forEach((name, password) -> upserts.add(new UserScramCredentialUpsertion(name,
                    new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), password)));
            Properties props = new Properties();
            props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, internalBootstrap);
            try (Admin admin = Admin.create(props)) {
                admin.alterUserScramCredentials(upserts).all().get(60, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("cannot set the SCRAM users " + scramUsers.keySet() + ": "
                        + (e.getCause() == null ? e : e.getCause()).getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while setting the SCRAM users", e);
            }
            log.info("SCRAM users {} set on the existing storage in {}", scramUsers.keySet(), dataDir);
        }

        private static String redact(String text, List<String> secrets) {
            String out = text;
            for (String secret : secrets) {
                out = out.replace(secret, "<redacted>");
            }
            return out;
        }
    }

    /** Settings left out of the server.properties written to the data directory. */
    static boolean isSecret(String key) {
        return key.endsWith("password") || key.endsWith("jaas.config");
    }

    /** The cluster id persisted in the data directory, created on first use. */
    static String clusterId(Path dataDir) throws IOException {
        Path file = dataDir.resolve(CLUSTER_ID_FILE);
        if (Files.exists(file)) {
            String id = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (!id.isEmpty()) {
                return id;
            }
        }
        String id = Uuid.randomUuid().toString();
        Path tmp = dataDir.resolve(CLUSTER_ID_FILE + ".tmp");
        Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return id;
    }

    /** {@code wanted} if it can be bound on {@code address}, else a free port the OS picks. */
    static int choosePort(InetAddress address, int wanted) throws IOException {
        if (wanted > 0) {
            try (ServerSocket socket = new ServerSocket()) {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(address, wanted));
                return wanted;
            } catch (IOException taken) {
                log.warn("port {} on {} is taken; falling back to a free port", wanted, address.getHostAddress());
            }
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(address, 0));
            return socket.getLocalPort();
        }
    }
}
