package io.rollout.learner.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.learner.Learner;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.SchedulerConfig;
import io.rollout.learner.scheduler.TaskDistribution;
import io.rollout.learner.scheduler.TaskScheduler;
import io.rollout.learner.trainer.SampleAssembler;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.learner.trainer.UpdateStats;
import io.rollout.policy.ModelFormatException;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.runtime.cli.EnvDefaults;
import io.rollout.runtime.cli.KafkaOptions;
import io.rollout.runtime.cli.ModelOptions;
import io.rollout.runtime.metrics.MetricsAuthOptions;
import io.rollout.runtime.metrics.MetricsHttpServer;
import io.rollout.runtime.metrics.Registries;
import io.rollout.schemas.topics.TopicCatalog;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the task scheduler and the trainer until SIGTERM. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        modelTransformer = TrainCommand.Env.class,
        description = {
            "Schedules tasks on rollout.tasks, trains the LoRA adapter on complete groups from train.samples",
            "(critic-free dual-clip PPO, k3 KL to the base model, entropy bonus, AdamW, LoRA-GGPO) and",
            "publishes every version on policy.weights. Checkpoints go to --checkpoint-dir; a restart",
            "resumes from the newest one and neither skips nor retrains a sample.",
            "Prints 'metrics=URL', then 'running', then one line per version on standard output.",
            "/health (liveness) is 503 only once training failed, 200 while the checkpoint is restored; /ready",
            "(readiness) is 200 once it is restored, the consumer at its offsets and training runs.",
            "Every option can also come from an environment variable, named in its description."
        })
final class TrainCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    // --- Kafka and files
    @CommandLine.Mixin
    private KafkaOptions kafka = new KafkaOptions();

    @CommandLine.Mixin
    private ModelOptions model = new ModelOptions();

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", defaultValue = "${env:TRAIN_CHECKPOINT_DIR:-data/checkpoints}",
            description = "Where checkpoints go; the newest is resumed from (default: ${DEFAULT-VALUE}; env TRAIN_CHECKPOINT_DIR).")
    private Path checkpointDir;

    @Option(names = "--checkpoint-every", defaultValue = "10",
            description = "Write a checkpoint every N versions, and on shutdown (default: ${DEFAULT-VALUE}).")
    private int checkpointEvery;

    @Option(names = "--keep-checkpoints", defaultValue = "3", description = "Checkpoints kept (default: ${DEFAULT-VALUE}).")
    private int keepCheckpoints;

    @Option(names = "--accept-sample-loss",
            description = {"When samples the checkpoint has not trained were deleted from train.samples by retention,",
                "go on from the log start (counted in rollout.trainer.samples.lost) instead of stopping with an error."})
    private boolean acceptSampleLoss;

    @Option(names = "--stop-timeout", paramLabel = "DURATION", defaultValue = "20s",
            description = {"On SIGTERM: abandon the update in progress (its groups stay untrained and are read again on",
                "restart), checkpoint the last completed version and exit within this time; keep it below the",
                "orchestrator's grace period, e.g. Kubernetes' 30 s (default: ${DEFAULT-VALUE})."})
    private Duration stopTimeout;

    @Option(names = "--export-dir", paramLabel = "DIR",
            description = "Also write every version as a PEFT directory v<version> here (default: off).")
    private Path exportDir;

    @Option(names = "--adapter-name", defaultValue = "policy",
            description = "Adapter name on policy.weights (default: ${DEFAULT-VALUE}).")
    private String adapterName;

    @Option(names = "--chunk-bytes", defaultValue = "1048576",
            description = "Size of the weight chunks on policy.weights (default: ${DEFAULT-VALUE}).")
    private int chunkBytes;

    @Option(names = "--trained-log", paramLabel = "FILE",
            description = {"Append one JSON line per start, per version (the groups and samples it trained on) and per",
                "group given up untrained (discarded or abandoned, with the reason): an audit log (default: off)."})
    private Path trainedLog;

    @Option(names = "--metrics-host", defaultValue = "${env:TRAIN_METRICS_HOST:-127.0.0.1}",
            description = "Address of /metrics, /health and /ready (default: ${DEFAULT-VALUE}; env TRAIN_METRICS_HOST).")
    private String metricsHost;

    @Option(names = "--metrics-port", defaultValue = "${env:TRAIN_METRICS_PORT:-9405}",
            description = "Port of /metrics, /health and /ready; 0 takes a free one (default: ${DEFAULT-VALUE}; env TRAIN_METRICS_PORT).")
    private int metricsPort;

    @CommandLine.Mixin
    private MetricsAuthOptions metricsAuth = new MetricsAuthOptions();

    // --- scheduler
    @Option(names = "--task", paramLabel = "SPEC", defaultValue = "env=sokoban",
            description = {"A task source: env=NAME[,seeds=FROM-TO][,group-size=N][,max-steps=N][,weight=W][,config.KEY=VALUE...].",
                "Repeatable: tasks are drawn by weight (default: ${DEFAULT-VALUE}; group-size 8, max-steps 20)."})
    private List<String> tasks = new ArrayList<>();

    @Option(names = "--run-id", defaultValue = "run", description = "Prefix of group ids (default: ${DEFAULT-VALUE}).")
    private String runId;

    @Option(names = "--seed", defaultValue = "0",
            description = "Run seed: task seeds, adapter init, shuffles and GGPO noise derive from it (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--no-scheduler", description = "Do not produce tasks; train on whatever reaches train.samples.")
    private boolean noScheduler;

    @Option(names = "--max-in-flight", defaultValue = "16",
            description = "K: groups produced and not yet trained on or dropped (default: ${DEFAULT-VALUE}).")
    private int maxInFlight;

    @Option(names = "--max-retries", defaultValue = "3",
            description = "Re-queues of a dropped or timed-out group before it is abandoned (default: ${DEFAULT-VALUE}).")
    private int maxRetries;

    @Option(names = "--task-timeout", paramLabel = "DURATION", defaultValue = "30m",
            description = "Re-queue a group in flight this long; 0 disables (default: ${DEFAULT-VALUE}).")
    private Duration taskTimeout;

    // --- batching, loss, optimizer, LoRA and GGPO
    @CommandLine.Mixin
    private TrainingOptions training = new TrainingOptions();

    @Override
    public Integer call() throws Exception {
        TrainerConfig config;
        TrainerService.Settings settings;
        TopicCatalog topics;
        Properties props;
        SchedulerConfig schedulerConfig;
        TaskDistribution distribution;
        try {
            if (model.model() == null) {
                throw new IllegalArgumentException("--model is required (or TRAIN_MODEL)");
            }
            config = training.trainerConfig(seed);
            LoraSpec lora = training.loraSpec(model.model().getFileName().toString());
            settings = new TrainerService.Settings(training.batchGroups(), training.maxStaleness(), checkpointEvery,
                    adapterName, lora, training.initAdapter(), exportDir, acceptSampleLoss, stopTimeout);
            topics = kafka.topics();
            props = kafka.properties();
            schedulerConfig = new SchedulerConfig(maxInFlight, training.batchGroups(), training.maxStaleness(),
                    maxRetries, taskTimeout, runId);
            distribution = TaskDistribution.parse(tasks);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Policy policy;
        try {
            policy = Policy.load(model.model(), model.device(), model.dtype());
        } catch (ModelFormatException | IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--model " + model.model() + ": " + e.getMessage());
        }
        PrometheusMeterRegistry registry = Registries.prometheusWithJvmMeters();
        TrainedLog log = trainedLog == null ? null : new TrainedLog(trainedLog);
        Optional<TaskScheduler> tasks = noScheduler ? Optional.empty()
                : Optional.of(new TaskScheduler(schedulerConfig, distribution, seed));
        TrainerService service = Learner.create(policy, config, settings, topics, props,
                new CheckpointStore(checkpointDir, keepCheckpoints), tasks, registry, Clock.systemUTC(),
                new TrainerService.Listener() {
                    @Override
                    public void started(long version, Long checkpointVersion) {
                        if (log != null) {
                            log.started(version, checkpointVersion);
                        }
                    }

                    @Override
                    public void finishedUntrained(String groupId, int attempt, String outcome, String reason) {
                        if (log != null) {
                            log.finishedUntrained(groupId, attempt, outcome, reason);
                        }
                    }

                    @Override
                    public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                        if (log != null) {
                            log.updated(version, groups);
                        }
                        spec.commandLine().getOut().printf("version=%d groups=%d samples=%d loss=%.4f kl=%.4f "
                                + "clip=%.3f grad_norm=%.3f%n", version, groups.size(), stats.samples(), stats.loss(),
                                stats.kl(), stats.clipFraction(), stats.gradNormMean());
                        spec.commandLine().getOut().flush();
                    }
                }).trainer();
        MetricsHttpServer http = MetricsHttpServer.start(metricsHost, metricsPort, registry, service::healthy,
                service::ready, metricsAuth.auth());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            service.close();
            http.close();
            policy.close();
            if (log != null) {
                log.close();
            }
        }, "train-shutdown"));
        spec.commandLine().getOut().println("metrics=" + http.url());
        spec.commandLine().getOut().flush();
        service.start();
        spec.commandLine().getOut().println("running");
        spec.commandLine().getOut().flush();
        service.awaitStopped(Duration.ofDays(36500));
        return service.failure() == null ? 0 : 1;
    }

    /** Every option from TRAIN_ and its name: TRAIN_BOOTSTRAP, TRAIN_MODEL, TRAIN_CHECKPOINT_DIR, TRAIN_LR, ... */
    static final class Env extends EnvDefaults {
        Env() {
            super("TRAIN_", Scope.EVERY_OPTION);
        }
    }

    /** The --trained-log file: a line per start and per version. */
    static final class TrainedLog implements AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final BufferedWriter out;

        TrainedLog(Path file) throws IOException {
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }

        synchronized void started(long version, Long checkpointVersion) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("event", "start");
            line.put("version", version);
            line.put("checkpoint", checkpointVersion);
            write(line);
        }

        synchronized void updated(long version, List<SampleAssembler.Group> groups) {
            List<Map<String, Object>> gs = new ArrayList<>();
            for (SampleAssembler.Group g : groups) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("group", g.key().groupId());
                m.put("attempt", g.key().attempt());
                m.put("steps", g.samples().stream().map(l -> l.sample().getEpisode() + ":" + l.sample().getT()).toList());
                gs.add(m);
            }
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("event", "version");
            line.put("version", version);
            line.put("groups", gs);
            write(line);
        }

        synchronized void finishedUntrained(String groupId, int attempt, String outcome, String reason) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("event", outcome);
            line.put("group", groupId);
            line.put("attempt", attempt);
            line.put("reason", reason);
            write(line);
        }

        private void write(Map<String, Object> line) {
            try {
                out.write(JSON.writeValueAsString(line));
                out.newLine();
                out.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot append to the trained log", e);
            }
        }

        @Override
        public synchronized void close() {
            try {
                out.close();
            } catch (IOException ignored) {
                // closing at shutdown
            }
        }
    }
}
