package io.rollout.learner.cli;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.learner.advantage.AdvantageConfig;
import io.rollout.learner.advantage.AdvantageService;
import io.rollout.learner.advantage.BoundedRocksDbMemory;
import io.rollout.learner.gigpo.GigpoConfig;
import io.rollout.learner.gigpo.GigpoMode;
import io.rollout.runtime.cli.EnvDefaults;
import io.rollout.runtime.cli.KafkaOptions;
import io.rollout.runtime.metrics.MetricsAuthOptions;
import io.rollout.runtime.metrics.MetricsHttpServer;
import io.rollout.runtime.metrics.Registries;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the GiGPO advantage Streams app until SIGTERM. */
@Command(
        name = "advantage-stream",
        mixinStandardHelpOptions = true,
        modelTransformer = AdvantageStreamCommand.Env.class,
        description = {
            "Reads rollout.steps, keeps each group's steps until all its episodes are done, and writes one",
            "TrainingSample per step with its GiGPO advantages to train.samples (exactly-once).",
            "Incomplete groups past --group-timeout and groups with an infrastructure error are dropped",
            "whole and announced on rollout.dropped; undecodable steps go to rollout.dlq.",
            "Prints 'metrics=URL' and then 'running' on standard output.",
            "/health (liveness) is 503 only once the app failed or stopped, 200 while it starts or rebalances;",
            "/ready (readiness) is 200 while it is RUNNING: tasks assigned and their state restored.",
            "Every option can also come from an environment variable, named in its description."
        })
final class AdvantageStreamCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    private KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--application-id", paramLabel = "ID", defaultValue = "${env:ADVANTAGE_APPLICATION_ID:-rollout-advantage}",
            description = "Kafka Streams application id: consumer group and state topic prefix (default: ${DEFAULT-VALUE}; env ADVANTAGE_APPLICATION_ID).")
    private String applicationId;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "${env:ADVANTAGE_STATE_DIR:-data/advantage}",
            description = "Local state (RocksDB); rebuilt from Kafka if lost (default: ${DEFAULT-VALUE}; env ADVANTAGE_STATE_DIR).")
    private Path stateDir;

    @Option(names = "--rocksdb-memory", paramLabel = "MIB", defaultValue = "${env:ADVANTAGE_ROCKSDB_MEMORY:-" + AdvantageService.DEFAULT_ROCKSDB_MEMORY_MIB + "}",
            description = "Native memory of all local state stores together (block cache, index and filter blocks, memtables), in MiB; at least " + BoundedRocksDbMemory.MIN_BUDGET_MIB + " (default: ${DEFAULT-VALUE}; env ADVANTAGE_ROCKSDB_MEMORY).")
    private long rocksdbMemoryMib;

    @Option(names = "--threads", defaultValue = "${env:ADVANTAGE_THREADS:-1}",
            description = "Stream threads (default: ${DEFAULT-VALUE}; env ADVANTAGE_THREADS).")
    private int threads;

    @Option(names = "--commit-interval", paramLabel = "DURATION", defaultValue = "${env:ADVANTAGE_COMMIT_INTERVAL:-100ms}",
            description = "Transaction commit interval: samples become visible at most this long after their group completes (default: ${DEFAULT-VALUE}; env ADVANTAGE_COMMIT_INTERVAL).")
    private Duration commitInterval;

    @Option(names = "--group-timeout", paramLabel = "DURATION", defaultValue = "${env:ADVANTAGE_GROUP_TIMEOUT:-10m}",
            description = "Drop a group still incomplete this long after its first step arrived (default: ${DEFAULT-VALUE}; env ADVANTAGE_GROUP_TIMEOUT).")
    private Duration groupTimeout;

    @Option(names = "--timeout-check", paramLabel = "DURATION", defaultValue = "${env:ADVANTAGE_TIMEOUT_CHECK:-1s}",
            description = "How often open groups are checked against the timeout (default: ${DEFAULT-VALUE}; env ADVANTAGE_TIMEOUT_CHECK).")
    private Duration timeoutCheck;

    @Option(names = "--finished-retention", paramLabel = "DURATION", defaultValue = "${env:ADVANTAGE_FINISHED_RETENTION:-1h}",
            description = "How long finished groups are remembered so late or duplicate steps are ignored (default: ${DEFAULT-VALUE}; env ADVANTAGE_FINISHED_RETENTION).")
    private Duration finishedRetention;

    @Option(names = "--mode", defaultValue = "${env:ADVANTAGE_MODE:-mean_norm}",
            description = "mean_norm or mean_std_norm (default: ${DEFAULT-VALUE}; env ADVANTAGE_MODE).")
    private String mode;

    @Option(names = "--omega", defaultValue = "${env:ADVANTAGE_OMEGA:-1.0}",
            description = "Weight of the step-level advantage; 0 gives GRPO (default: ${DEFAULT-VALUE}; env ADVANTAGE_OMEGA).")
    private double omega;

    @Option(names = "--gamma", defaultValue = "${env:ADVANTAGE_GAMMA:-0.95}",
            description = "Discount of step returns (default: ${DEFAULT-VALUE}; env ADVANTAGE_GAMMA).")
    private double gamma;

    @Option(names = "--invalid-penalty", defaultValue = "${env:ADVANTAGE_INVALID_PENALTY:-0.1}",
            description = "Subtracted for an invalid action (default: ${DEFAULT-VALUE}; env ADVANTAGE_INVALID_PENALTY).")
    private double invalidPenalty;

    @Option(names = "--similarity", paramLabel = "THRESH", defaultValue = "${env:ADVANTAGE_SIMILARITY}",
            description = "Merge text anchors whose similarity ratio is at least THRESH (default: exact anchors only; env ADVANTAGE_SIMILARITY).")
    private Double similarity;

    @Option(names = "--metrics-host", defaultValue = "${env:ADVANTAGE_METRICS_HOST:-127.0.0.1}",
            description = "Address of /metrics, /health and /ready (default: ${DEFAULT-VALUE}; env ADVANTAGE_METRICS_HOST).")
    private String metricsHost;

    @Option(names = "--metrics-port", defaultValue = "${env:ADVANTAGE_METRICS_PORT:-9404}",
            description = "Port of /metrics, /health and /ready; 0 takes a free one (default: ${DEFAULT-VALUE}; env ADVANTAGE_METRICS_PORT).")
    private int metricsPort;

    @CommandLine.Mixin
    private MetricsAuthOptions metricsAuth = new MetricsAuthOptions();

    @Option(names = "--start-timeout", paramLabel = "DURATION", defaultValue = "5m",
            description = "Exit (status 1) if the app is not running after this long (default: ${DEFAULT-VALUE}). "
                    + "Keep it well above the consumer group's session timeout (session.timeout.ms, 45 s unless set "
                    + "with --kafka) plus the time to restore local state: an instance restarted after a crash gets "
                    + "its tasks only once its predecessor's session has expired.")
    private Duration startTimeout;

    @Override
    public Integer call() throws Exception {
        AdvantageConfig config;
        TopicCatalog topics;
        Properties props;
        try {
            if (threads < 1) {
                throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
            }
            if (rocksdbMemoryMib < BoundedRocksDbMemory.MIN_BUDGET_MIB) {
                throw new IllegalArgumentException("--rocksdb-memory must be at least " + BoundedRocksDbMemory.MIN_BUDGET_MIB
                        + " (MiB), got " + rocksdbMemoryMib);
            }
            GigpoConfig gigpo = new GigpoConfig(GigpoMode.parse(mode), omega, gamma, invalidPenalty,
                    GigpoConfig.defaults().epsilon(), similarity == null ? Double.NaN : similarity);
            config = new AdvantageConfig(gigpo, groupTimeout, timeoutCheck, finishedRetention);
            topics = kafka.topics();
            props = AdvantageService.streamsProperties(kafka.properties(), applicationId, stateDir, commitInterval,
                    threads);
            props.put(BoundedRocksDbMemory.BUDGET_CONFIG, Long.toString(rocksdbMemoryMib << 20));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrometheusMeterRegistry registry = Registries.prometheusWithJvmMeters();
        AdvantageService service = new AdvantageService(topics, config, props, registry);
        MetricsHttpServer http = MetricsHttpServer.start(metricsHost, metricsPort, registry, service::healthy,
                service::ready, metricsAuth.auth());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.close();
            http.close();
        }, "advantage-shutdown"));
        spec.commandLine().getOut().println("metrics=" + http.url());
        spec.commandLine().getOut().flush();
        service.start(startTimeout);
        spec.commandLine().getOut().println("running");
        spec.commandLine().getOut().flush();
        service.awaitStopped();
        return service.failed() ? 1 : 0;
    }

    /** Every option from ADVANTAGE_ and its name: ADVANTAGE_BOOTSTRAP, ADVANTAGE_STATE_DIR, ADVANTAGE_START_TIMEOUT, ... */
    static final class Env extends EnvDefaults {
        Env() {
            super("ADVANTAGE_", Scope.EVERY_OPTION);
        }
    }
}
