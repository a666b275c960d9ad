package io.rollout.deploy.local;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.service.Actor;
import io.rollout.actor.service.ActorService;
import io.rollout.broker.EmbeddedKafkaBroker;
import io.rollout.deploy.BrokerMetrics;
import io.rollout.env.client.EnvClient;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.learner.Learner;
import io.rollout.learner.advantage.AdvantageConfig;
import io.rollout.learner.advantage.AdvantageService;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.SchedulerConfig;
import io.rollout.learner.scheduler.TaskDistribution;
import io.rollout.learner.scheduler.TaskScheduler;
import io.rollout.learner.scheduler.TaskSource;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.runtime.metrics.MetricsAuth;
import io.rollout.runtime.metrics.MetricsHttpServer;
import io.rollout.runtime.metrics.Registries;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;

/**
 * The whole pipeline in one JVM, started in two stages: {@link #open} starts what an evaluation
 * needs (the broker, embedded unless the Kafka settings name a cluster; the topics; the policy;
 * env-service and its client), {@link #startTraining} the rest (the advantage stream, the
 * learner, a {@link StepMonitor} and the actors; their accessors return null until then), each
 * service with a metrics endpoint ({@link #urls()}). {@link #close()} stops whatever started,
 * newest first. What {@code rollout local} runs and in-process end-to-end tests build on.
 */
public final class LocalPipeline implements AutoCloseable {

    /** The adapter the trainer publishes and the actors follow on {@code policy.weights}. */
    public static final String ADAPTER = "policy";

    /** How often the embedded broker's consumer-group lag and log sizes are read for /metrics. */
    private static final Duration BROKER_METRICS_INTERVAL = Duration.ofSeconds(5);

    /**
     * How the pipeline runs.
     *
     * @param prefix run prefix of the topic names, the actors' consumer group, the stream's
     *     application id and the scheduler's group ids
     * @param dataDir broker data ({@code broker}), stream state ({@code streams}) and trainer
     *     checkpoints ({@code checkpoints}); a pipeline on the same directory resumes
     * @param kafka client settings of every client; without {@code bootstrap.servers} an embedded
     *     broker is started and its address added
     * @param device where a policy loaded from a directory runs: cpu, gpu or gpu:N
     * @param dtype its weights' type: auto, float32, float16 or float64
     * @param tasks what the scheduler hands out; the largest group size sizes the actors' env threads
     * @param seed the scheduler's run seed (which task each group gets)
     * @param actors actors started, {@code actor-0} on
     * @param groupsInFlight groups each actor plays at once
     * @param players how each actor plays, by actor id
     * @param batchGroups groups per update
     * @param maxStaleness versions a sample may lag behind the trainer
     * @param advantage the advantage stream's settings
     * @param trainer how each version is trained
     * @param lora the trained adapter's LoRA settings; its base model is named after the policy's
     *     directory whatever this says
     * @param initAdapter a PEFT adapter a fresh run starts from instead of a new one (ignored when a
     *     checkpoint exists), or null
     */
    public record Settings(String prefix, Path dataDir, Properties kafka, String device, String dtype,
            TaskDistribution tasks, long seed, int actors, int groupsInFlight, Function<String, PlayerConfig> players,
            int batchGroups, int maxStaleness, AdvantageConfig advantage, TrainerConfig trainer, LoraSpec lora,
            Path initAdapter) {

        public Settings {
            Objects.requireNonNull(prefix, "prefix");
            Objects.requireNonNull(dataDir, "dataDir");
            kafka = KafkaSettings.copy(Objects.requireNonNull(kafka, "kafka"));
            Objects.requireNonNull(tasks, "tasks");
            Objects.requireNonNull(players, "players");
            Objects.requireNonNull(advantage, "advantage");
            Objects.requireNonNull(trainer, "trainer");
            Objects.requireNonNull(lora, "lora");
            if (actors < 1 || groupsInFlight < 1) {
                throw new IllegalArgumentException("actors and groups in flight must be >= 1, got " + actors + " and "
                        + groupsInFlight);
            }
        }

        /**
         * No prefix, an embedded broker, cpu, Sokoban tasks (groups of 8, 20 steps), seed 0, 2
         * actors of 2 groups in flight playing compact, 8 groups per update at staleness 1,
         * GiGPO with a 5 minute group timeout, the trainer's defaults and a new adapter of the LoRA
         * defaults (rank 8).
         */
        public static Settings defaults(Path dataDir) {
            return new Settings("", dataDir, new Properties(), "cpu", "auto",
                    TaskDistribution.parse(List.of("env=" + SokobanFactory.NAME)), 0, 2, 2,
                    id -> PlayerConfig.defaults(id, "compact"), 8, 1,
                    AdvantageConfig.defaults().withGroupTimeout(Duration.ofMinutes(5)), TrainerConfig.defaults(),
                    LoraSpec.defaults(""), null);
        }

        public Settings withPrefix(String p) {
            return new Settings(p, dataDir, kafka, device, dtype, tasks, seed, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withKafka(Properties k) {
            return new Settings(prefix, dataDir, k, device, dtype, tasks, seed, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withDevice(String newDevice, String newDtype) {
            return new Settings(prefix, dataDir, kafka, newDevice, newDtype, tasks, seed, actors, groupsInFlight,
                    players, batchGroups, maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withTasks(TaskDistribution t) {
            return new Settings(prefix, dataDir, kafka, device, dtype, t, seed, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withSeed(long s) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, s, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withActors(int n, int inFlight) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, seed, n, inFlight, players, batchGroups,
                    maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withPlayers(Function<String, PlayerConfig> p) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, seed, actors, groupsInFlight, p,
                    batchGroups, maxStaleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withBatching(int groups, int staleness) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, seed, actors, groupsInFlight, players,
                    groups, staleness, advantage, trainer, lora, initAdapter);
        }

        public Settings withAdvantage(AdvantageConfig a) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, seed, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, a, trainer, lora, initAdapter);
        }

        public Settings withTrainer(TrainerConfig t) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, seed, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, advantage, t, lora, initAdapter);
        }

        public Settings withLora(LoraSpec l, Path init) {
            return new Settings(prefix, dataDir, kafka, device, dtype, tasks, seed, actors, groupsInFlight, players,
                    batchGroups, maxStaleness, advantage, trainer, l, init);
        }
    }

    private final Settings settings;
    /** Everything started, oldest first; closed newest first. */
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final Map<String, String> urls = new LinkedHashMap<>();
    private final List<Actor> actors = new ArrayList<>();
    private Properties kafka;
    private TopicCatalog topics;
    private Policy policy;
    private EnvClient envClient;
    private AdvantageService advantage;
    private TrainerService trainer;
    private StepMonitor monitor;
    private volatile long trainingStart;

    private LocalPipeline(Settings settings) {
        this.settings = settings;
    }

    /** Opens the pipeline on the policy in {@code modelDir}, loaded on the settings' device; closing closes it. */
    public static LocalPipeline open(Settings settings, Path modelDir) throws Exception {
        return open(settings, Objects.requireNonNull(modelDir, "modelDir"), null);
    }

    /** Opens the pipeline on {@code policy}, which stays the caller's to close (after the pipeline). */
    public static LocalPipeline open(Settings settings, Policy policy) throws Exception {
        return open(settings, null, Objects.requireNonNull(policy, "policy"));
    }

    private static LocalPipeline open(Settings settings, Path modelDir, Policy given) throws Exception {
        LocalPipeline p = new LocalPipeline(settings);
        try {
            p.startInfrastructure(modelDir, given);
            return p;
        } catch (Exception | Error e) {
            try {
                p.close();
            } catch (RuntimeException c) {
                e.addSuppressed(c);
            }
            throw e;
        }
    }

    private void startInfrastructure(Path modelDir, Policy given) throws Exception {
        kafka = KafkaSettings.copy(settings.kafka());
        if (kafka.getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG) == null) {
            EmbeddedKafkaBroker broker = started(EmbeddedKafkaBroker.builder()
                    .dataDir(settings.dataDir().resolve("broker")).port(0).start());
            kafka.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            // The embedded broker's own metrics and consumer-group lag, as `rollout broker` serves them.
            PrometheusMeterRegistry brokerRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            BrokerMetrics brokerMetrics = started(BrokerMetrics.of(kafka));
            brokerMetrics.bindTo(brokerRegistry);
            brokerMetrics.start(BROKER_METRICS_INTERVAL);
            urls.put("broker", serve(brokerRegistry, BrokerMetrics::brokerRunning));
        }
        topics = TopicCatalog.builder().prefix(settings.prefix()).build();
        try (Admin admin = Admin.create(kafka)) {
            new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(60)).ensure(topics.all());
        }
        policy = given != null ? given : started(Policy.load(modelDir, settings.device(), settings.dtype()));
        SessionManager sessions = new SessionManager(
                new EnvRegistry(List.of(new SokobanFactory(), new HouseholdFactory())), 4096, Duration.ofMinutes(10),
                System::nanoTime);
        EnvServer envServer = started(EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 1 << 20,
                Duration.ofMinutes(1)), sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)));
        urls.put("env-service", envServer.url() + "/metrics");
        envClient = started(EnvClient.create(envServer.url(), Duration.ofSeconds(5), Duration.ofSeconds(30)));
    }

    /**
     * Starts the advantage stream, the learner (restoring the newest checkpoint in the data
     * directory), the step monitor and the actors. On an exception, what started stays for
     * {@link #close()}.
     *
     * @param listener told about each version the trainer makes
     */
    public void startTraining(TrainerService.Listener listener) throws Exception {
        if (advantage != null) {
            throw new IllegalStateException("training was started already");
        }
        String prefix = settings.prefix();
        PrometheusMeterRegistry advantageRegistry = Registries.prometheusWithJvmMeters();
        Properties streams = AdvantageService.streamsProperties(kafka, prefix + "rollout-advantage",
                settings.dataDir().resolve("streams"), Duration.ofMillis(200), 1);
        advantage = started(new AdvantageService(topics, settings.advantage(), streams, advantageRegistry));
        advantage.start(Duration.ofSeconds(60));
        urls.put("advantage", serve(advantageRegistry, advantage::healthy, advantage::ready));

        PrometheusMeterRegistry trainerRegistry = Registries.prometheusWithJvmMeters();
        int inFlight = settings.groupsInFlight();
        int batchGroups = settings.batchGroups();
        SchedulerConfig schedulerConfig = new SchedulerConfig(Math.max(settings.actors() * inFlight, batchGroups) * 2,
                batchGroups, settings.maxStaleness(), SchedulerConfig.defaults().maxRetries(), Duration.ofMinutes(5),
                prefix + "local");
        TaskScheduler scheduler = new TaskScheduler(schedulerConfig, settings.tasks(), settings.seed());
        LoraSpec l = settings.lora();
        LoraSpec lora = new LoraSpec(l.rank(), l.alpha(), l.targetModules(), l.dropout(), l.useRslora(),
                policy.directory().getFileName().toString());
        TrainerService.Settings trainerSettings = new TrainerService.Settings(batchGroups, settings.maxStaleness(),
                10, ADAPTER, lora, settings.initAdapter(), null);
        trainingStart = System.nanoTime();
        trainer = started(Learner.create(policy, settings.trainer(), trainerSettings, topics, kafka,
                new CheckpointStore(settings.dataDir().resolve("checkpoints"), 2), Optional.of(scheduler),
                trainerRegistry, Clock.systemUTC(), listener).trainer());
        trainer.start();
        urls.put("trainer", serve(trainerRegistry, trainer::healthy, trainer::ready));

        monitor = started(new StepMonitor(kafka, topics));
        int groupSize = settings.tasks().sources().stream().mapToInt(TaskSource::groupSize).max().orElse(1);
        for (int i = 0; i < settings.actors(); i++) {
            PrometheusMeterRegistry registry = Registries.prometheusWithJvmMeters();
            String id = "actor-" + i;
            Actor actor = started(Actor.start(policy, envClient, settings.players().apply(id),
                    new ActorService.Settings(id, prefix + "actors", inFlight, Duration.ofSeconds(10)), topics, kafka,
                    registry, ADAPTER, Duration.ofSeconds(60), groupSize * inFlight));
            actors.add(actor);
            urls.put(id, serve(registry, actor.service()::healthy, actor.service()::ready));
        }
    }

    /**
     * Stops the actors, then the trainer (which checkpoints its last version and stops the
     * scheduler), then the step monitor, whose tallies stay readable. The rest (the advantage
     * stream, env-service, the policy, the broker and the metrics endpoints) stays up for an
     * evaluation until {@link #close()}.
     */
    public void stopActorsAndTrainer() {
        if (trainer == null || !closeables.contains(trainer)) {
            return; // not started, or stopped already
        }
        for (Actor a : actors) {
            a.close();
        }
        trainer.close();
        monitor.close();
        closeables.removeAll(actors);
        closeables.removeAll(List.of(trainer, monitor));
    }

    /**
     * The first failure of a service, or null: the trainer's, else an actor's, else the
     * advantage stream's (whose cause its own log holds).
     */
    public Throwable failure() {
        if (trainer != null && trainer.failure() != null) {
            return trainer.failure();
        }
        for (Actor a : actors) {
            if (a.service().failure() != null) {
                return a.service().failure();
            }
        }
        return advantage != null && advantage.failed() ? new IllegalStateException("the advantage stream failed")
                : null;
    }

    /** Closes everything still running, newest first; then throws the first failure, the others suppressed. */
    @Override
    public void close() {
        RuntimeException failure = null;
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                RuntimeException r = e instanceof RuntimeException re ? re
                        : new IllegalStateException(e.getMessage(), e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
        }
        closeables.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** The client settings every client of the run takes, {@code bootstrap.servers} included. */
    public Properties kafka() {
        return KafkaSettings.copy(kafka);
    }

    public TopicCatalog topics() {
        return topics;
    }

    public Policy policy() {
        return policy;
    }

    public EnvClient envClient() {
        return envClient;
    }

    public AdvantageService advantage() {
        return advantage;
    }

    public TrainerService trainer() {
        return trainer;
    }

    /** {@link System#nanoTime()} as the learner was created: where training time starts. */
    public long trainingStart() {
        return trainingStart;
    }

    StepMonitor monitor() {
        return monitor;
    }

    public List<Actor> actors() {
        return Collections.unmodifiableList(actors);
    }

    /**
     * The metrics endpoint of each service by name: broker (the embedded one only), env-service,
     * advantage, trainer, actor-N.
     */
    public Map<String, String> urls() {
        return Collections.unmodifiableMap(urls);
    }

    private String serve(PrometheusMeterRegistry registry, BooleanSupplier healthy) {
        return serve(registry, healthy, healthy);
    }

    /** {@code /metrics}, {@code /health} answering {@code healthy} and {@code /ready} answering {@code ready}. */
    private String serve(PrometheusMeterRegistry registry, BooleanSupplier healthy, BooleanSupplier ready) {
        return started(MetricsHttpServer.start("127.0.0.1", 0, registry, healthy, ready, MetricsAuth.none()))
                .url() + "/metrics";
    }

    private <T extends AutoCloseable> T started(T closeable) {
        closeables.add(closeable);
        return closeable;
    }
}
