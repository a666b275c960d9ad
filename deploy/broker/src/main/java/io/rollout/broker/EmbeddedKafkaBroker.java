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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.Uuid;
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
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    static final String CLUSTER_ID_FILE = "cluster.id";
    static final String LOG_DIR = "kraft-logs";
    private static final int NODE_ID = 1;

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

        /** Any broker setting, applied over this class's defaults. */
        public Builder override(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public EmbeddedKafkaBroker start() {
            if (dataDir == null) {
                throw new IllegalStateException("an embedded broker needs a data directory");
            }
            try {
                Files.createDirectories(dataDir);
                InetAddress address = InetAddress.getByName(host);
                int brokerPort = choosePort(address, port);
                int controllerPort = choosePort(address, 0);
                String clusterId = clusterId(dataDir);
                Properties props = serverProperties(brokerPort, controllerPort);
                Path propsFile = dataDir.resolve("server.properties");
                try (Writer out = Files.newBufferedWriter(propsFile, StandardCharsets.UTF_8)) {
                    props.store(out, "written by the embedded broker at each start; edits are overwritten");
                }
                formatIfNeeded(propsFile, clusterId);

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
                log.info("Kafka broker {} (cluster {}) ready in {} ms, data in {}", broker.bootstrapServers(), clusterId,
                        Duration.ofNanos(System.nanoTime() - started).toMillis(), dataDir);
                return broker;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot prepare broker data directory " + dataDir, e);
            }
        }

        private Properties serverProperties(int brokerPort, int controllerPort) {
            Properties p = new Properties();
            p.put("process.roles", "broker,controller");
            p.put("node.id", Integer.toString(NODE_ID));
            p.put("controller.quorum.voters", NODE_ID + "@" + host + ":" + controllerPort);
            p.put("listeners", "PLAINTEXT://" + host + ":" + brokerPort + ",CONTROLLER://" + host + ":" + controllerPort);
            p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + brokerPort);
            p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
            p.put("controller.listener.names", "CONTROLLER");
            p.put("inter.broker.listener.name", "PLAINTEXT");
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

        private void formatIfNeeded(Path propsFile, String clusterId) {
            if (Files.exists(dataDir.resolve(LOG_DIR).resolve("meta.properties"))) {
                return;
            }
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            int rc;
            try (PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8)) {
                rc = StorageTool.execute(new String[] {
                    "format", "--cluster-id", clusterId, "--config", propsFile.toString(), "--ignore-formatted"
                }, out);
            } catch (RuntimeException e) {
                throw new IllegalStateException("cannot format broker storage in " + dataDir + ": " + e.getMessage(), e);
            }
            if (rc != 0) {
                throw new IllegalStateException("cannot format broker storage in " + dataDir + " (exit " + rc + "): "
                        + output.toString(StandardCharsets.UTF_8).strip());
            }
            log.info("formatted broker storage in {} for cluster {}", dataDir, clusterId);
        }
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
