package io.rollout.deploy.local;

import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.AdapterVersion;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.prompt.ActionFormat;
import io.rollout.actor.prompt.CompactFormat;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.deploy.warmstart.WarmStart;
import io.rollout.deploy.warmstart.WarmStartSpec;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.Environment;
import io.rollout.env.client.EnvClient;
import io.rollout.env.household.HouseholdEnvironment;
import io.rollout.env.sokoban.SokobanConfig;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.learner.cli.TrainingOptions;
import io.rollout.learner.gigpo.GigpoConfig;
import io.rollout.learner.gigpo.GigpoMode;
import io.rollout.learner.scheduler.TaskDistribution;
import io.rollout.learner.trainer.SampleAssembler;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.learner.trainer.UpdateStats;
import io.rollout.policy.Engines;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.records.Task;
import io.rollout.runtime.cli.DefaultOverrides;
import io.rollout.runtime.cli.KafkaOptions;
import io.rollout.runtime.config.CommandLines;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.weights.WeightReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.CommonClientConfigs;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The whole loop in one JVM: broker, env-service, actors, advantage stream, trainer and scheduler.
 *
 * <p>Longer than most classes because it declares every setting of a local run as an option with
 * its help, and around the training it runs the warm start, the evaluations and the report; the
 * services themselves are wired by {@link LocalPipeline}.
 */
@Command(
        name = "local",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        modelTransformer = LocalCommand.Defaults.class,
        description = {
            "Trains a policy on one machine: starts an embedded Kafka broker (or uses the cluster of --bootstrap or "
                + "--kafka-config), creates the topics, starts env-service, --actors actors, the GiGPO advantage "
                + "stream and the trainer with its task scheduler, all in this JVM. Without --model it makes a tiny "
                + "random model (REPORT/base) and warm-starts it on expert demonstrations (REPORT/model, reused by a "
                + "later run with the same settings and seed), as pipelines do before RL; --warm-start on does the "
                + "same for a --model.",
            "Sokoban levels default to player_walk=3 and min_solution=3, where a player moving at random solves "
                + "about 6%%. The policy is evaluated on --eval-levels held-out levels (seeds disjoint from "
                + "training's) before and after training, beside a player that moves uniformly at random.",
            "Prints a status line every --progress-every; the full log goes to REPORT/local.log. Stops after "
                + "--versions versions or --minutes minutes, whichever comes first, and writes REPORT/report.json "
                + "and PNG charts (success rate and return per version, throughput, staleness). "
                + "SIGTERM or Ctrl-C ends training early; the evaluation and the report still follow. "
                + "Exit code 1 if a service failed (the report is still written)."
        })
public final class LocalCommand implements Callable<Integer> {

    /** Training draws task seeds below this; the held-out evaluation uses seeds from it on. */
    static final long EVAL_FIRST_SEED = 1_000_000_000L;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--env", defaultValue = "sokoban", description = "sokoban or household (default: ${DEFAULT-VALUE}).")
    String env;

    @Option(names = "--env-config", paramLabel = "KEY=VALUE",
            description = "An environment setting for training and evaluation, e.g. dim_x=7. Repeatable.")
    Map<String, String> envConfig = new LinkedHashMap<>();

    @Option(names = "--model", paramLabel = "DIR",
            description = "Base model directory (default: a tiny random model written to REPORT/base).")
    Path model;

    @Option(names = "--format", defaultValue = "compact",
            description = "The actors' action format: compact (the observation, then 'action:') or think-action "
                    + "(verl-agent's <think>/<action> prompt through the model's chat template, for instruction "
                    + "models) (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--history", paramLabel = "TURNS",
            description = "Earlier turns each prompt shows (default: the format's, 0 for compact, 2 for think-action; "
                    + "6 for compact on the household, whose later observations do not repeat the task).")
    Integer history;

    @Option(names = "--max-new-tokens", paramLabel = "N",
            description = "Response length bound (default: the format's, 8 for compact, 256 for think-action; "
                    + "12 for compact on the household, whose commands run to 9 tokens).")
    Integer maxNewTokens;

    @Option(names = "--actions", split = ",", paramLabel = "WORD[,WORD...]",
            description = "compact only: the action words accepted where an environment lists none "
                    + "(default: up,down,left,right).")
    List<String> actions = new ArrayList<>();

    @Option(names = "--top-p", defaultValue = "1.0",
            description = "Nucleus sampling of actors and evaluation, which also sample at --temperature "
                    + "(default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--max-prompt-tokens", paramLabel = "N", defaultValue = "4096",
            description = "Prompt length bound; history goes first, then the prompt's start (default: ${DEFAULT-VALUE}).")
    int maxPromptTokens;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, gpu or gpu:N (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = "auto",
            description = "auto (= float32), float32, float16 or float64 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--warm-start", defaultValue = "auto",
            description = "Supervised warm start on expert demonstrations before RL: auto (only for the tiny "
                    + "model), on or off (default: ${DEFAULT-VALUE}). The warm-started model is written to "
                    + "REPORT/model and reused by a later run with the same base, settings and seed.")
    String warmStart;

    @Option(names = "--warm-start-demos", paramLabel = "N", defaultValue = "3000",
            description = "Demonstration steps of the warm start (default: ${DEFAULT-VALUE}).")
    int warmStartDemos;

    @Option(names = "--warm-start-epochs", paramLabel = "N", defaultValue = "2",
            description = "Passes over the demonstrations (default: ${DEFAULT-VALUE}).")
    int warmStartEpochs;

    @Option(names = "--warm-start-lr", paramLabel = "LR", defaultValue = "3e-3",
            description = "Peak learning rate of the warm start (default: ${DEFAULT-VALUE}).")
    double warmStartLr;

    @Option(names = "--warm-start-minutes", paramLabel = "MIN", defaultValue = "3",
            description = "Time bound of the warm start's training (default: ${DEFAULT-VALUE}).")
    double warmStartMinutes;

    @Option(names = "--report", paramLabel = "DIR", defaultValue = "report",
            description = "Where report.json, the charts and the tiny model go (default: ${DEFAULT-VALUE}).")
    Path report;

    @Option(names = "--prometheus-targets", paramLabel = "FILE",
            description = "Write the services' metrics endpoints to FILE as Prometheus file-based discovery "
                    + "targets once they are up, and an empty list when the run ends; "
                    + "deploy/monitoring/prometheus/prometheus-file-sd.yml reads targets/*.json beside it.")
    Path prometheusTargets;

    /**
     * The cluster and client settings of every client of the run. Without a bootstrap address
     * (--bootstrap, or bootstrap.servers in --kafka-config or --kafka) the run starts an embedded
     * broker; the prefix also names the actors' consumer group and the stream's application id.
     */
    @Mixin
    KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "Broker data, stream state and trainer checkpoints; a run on the same directory resumes "
                    + "(default: a temporary directory, deleted at exit).")
    Path dataDir;

    @Option(names = "--minutes", defaultValue = "15", description = "Training time bound (default: ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--versions", defaultValue = "0",
            description = "Stop once this many versions are trained; 0: no bound (default: ${DEFAULT-VALUE}).")
    long versions;

    @Option(names = "--actors", defaultValue = "2", description = "Actors (default: ${DEFAULT-VALUE}).")
    int actors;

    @Option(names = "--torch-threads", paramLabel = "N", defaultValue = "0",
            description = "PyTorch's intra-op threads (ai.djl.pytorch.num_threads); 0: the cores divided by the threads "
                    + "that run the model at once, the actors' and the trainer's (at least 1). A -D"
                    + Engines.INTRA_OP_THREADS + " flag wins (default: ${DEFAULT-VALUE}).")
    private int torchThreads;

    @Option(names = "--groups-in-flight", defaultValue = "2",
            description = "Groups each actor plays at once (default: ${DEFAULT-VALUE}).")
    int groupsInFlight;

    @Option(names = "--group-size", defaultValue = "8", description = "N: episodes per group (default: ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--max-steps", paramLabel = "N",
            description = "Steps per episode, invalid ones included (default: 20 on Sokoban, 12 on the household).")
    Integer maxSteps;

    /** Batching, loss, AdamW, LoRA and GGPO: train's options, with train's defaults but for {@link Defaults}. */
    @CommandLine.Mixin
    TrainingOptions training = new TrainingOptions();

    @Option(names = "--gigpo-mode", defaultValue = "mean_norm",
            description = "mean_norm or mean_std_norm (default: ${DEFAULT-VALUE}).")
    String gigpoMode;

    @Option(names = "--omega", defaultValue = "1.0", description = "Weight of the step-level advantage (default: ${DEFAULT-VALUE}).")
    double omega;

    @Option(names = "--eval-levels", defaultValue = "500",
            description = "Held-out levels evaluated before and after training; 0 skips (default: ${DEFAULT-VALUE}).")
    int evalLevels;

    @Option(names = "--seed", defaultValue = "0",
            description = "Run seed: tasks, adapter init, sampling and GGPO noise (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--progress-every", paramLabel = "DURATION", defaultValue = "10s",
            description = "Progress line interval (default: ${DEFAULT-VALUE}).")
    Duration progressEvery;

    /**
     * The training defaults that differ from train's, each with the reason --help gives
     * (docs/local.md has the sweep behind the learning rate).
     */
    static final class Defaults extends DefaultOverrides {
        Defaults() {
            super("train",
                    new Default("--lr", "5e-4", "larger here since the tiny model learns from a random base"),
                    new Default("--kl-coef", "0.0", "none here since the tiny base is random"));
        }
    }

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private volatile boolean stopRequested;
    private final Map<Long, VersionRecord> trained = new ConcurrentHashMap<>();

    /** What the trainer reported of one version. */
    record VersionRecord(long version, int groups, int samples, double loss, double staleness, double atS) {}

    @Override
    public Integer call() throws Exception {
        validate();
        // Before anything loads the engine: each actor's batch thread and the trainer run the model at once.
        Engines.threads(torchThreads, actors + 1);
        PrintWriter out = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        Files.createDirectories(report);
        boolean tempData = dataDir == null;
        // In the report directory, not the OS temp folder, which the OS may clean under a running stream.
        Path data = tempData ? Files.createTempDirectory(report.toAbsolutePath(), "data-") : dataDir;
        Path logFile = report.resolve("local.log").toAbsolutePath();
        LocalLog log = LocalLog.redirect(logFile);
        closeables.add(log);
        out.println("report=" + report.toAbsolutePath());
        out.println("log=" + logFile);
        out.println("torch-threads=" + Engines.intraOpThreads());
        out.flush();
        Path base = model != null ? model : tinyModel(report.resolve("base"));
        // SIGTERM or Ctrl-C ends training early; the run still evaluates, reports and cleans up.
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stopRequested = true;
            try {
                finished.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "local-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return run(out, t0, data, base);
        } finally {
            closeAll();
            if (tempData) {
                deleteTree(data);
            }
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns now that the run is finished
            }
        }
    }

    private int run(PrintWriter out, long t0, Path data, Path base) throws Exception {
        WarmStartRun warm = warmStartEnabled() ? warmStart(out, base) : null;
        Path modelDir = warm == null ? base : warm.dir();
        LocalPipeline pipeline = LocalPipeline.open(pipelineSettings(data), modelDir);
        closeables.add(pipeline);
        out.println("bootstrap=" + pipeline.kafka().getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG));
        Policy policy = pipeline.policy();
        EnvClient envClient = pipeline.envClient();

        PlayerConfig player = playerConfig("eval");
        Task evalTask = Task.newBuilder().setGroupId("eval").setEnv(env).setEnvConfig(effectiveEnvConfig())
                .setSeed(EVAL_FIRST_SEED).setGroupSize(1).setMaxSteps(maxSteps()).setAttempt(0).setPolicyVersion(0)
                .setCreatedAtMs(System.currentTimeMillis()).build();
        ExecutorService evalCalls = Executors.newFixedThreadPool(8);
        closeables.add(evalCalls::shutdownNow);
        GroupPlayer evalPlayer = GroupPlayer.create(policy, envClient, player, evalCalls);
        Evaluation.Result initial = null;
        Evaluation.Result randomMoves = null;
        if (evalLevels > 0) {
            initial = Evaluation.run(evalPlayer, evalTask, EVAL_FIRST_SEED, evalLevels, 50, AdapterRef.base());
            out.printf("eval before training: success %.3f (%d/%d levels), mean return %.3f, %.0f s%n",
                    initial.successRate(), initial.successes(), initial.episodes(), initial.meanReturn(),
                    initial.seconds());
            if (env.equals(SokobanFactory.NAME)) {
                GroupPlayer random = new GroupPlayer(envClient, new PromptBuilder(policy, player.format(),
                        player.historyLength(), player.maxPromptTokens()),
                        Evaluation.randomMoves(CompactFormat.DEFAULT_VOCABULARY, seed), player, evalCalls);
                randomMoves = Evaluation.run(random, evalTask, EVAL_FIRST_SEED, evalLevels, 50, AdapterRef.base());
                out.printf("reference, uniformly random moves: success %.3f (%d/%d levels), mean return %.3f%n",
                        randomMoves.successRate(), randomMoves.successes(), randomMoves.episodes(),
                        randomMoves.meanReturn());
            }
            out.flush();
        }

        pipeline.startTraining(new TrainerService.Listener() {
            @Override
            public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                trained.put(version, new VersionRecord(version, groups.size(), stats.samples(), stats.loss(),
                        staleness(version, groups), (System.nanoTime() - pipeline.trainingStart()) / 1e9));
            }
        });
        long trainStart = pipeline.trainingStart();
        TrainerService trainer = pipeline.trainer();
        StepMonitor monitor = pipeline.monitor();
        pipeline.urls().forEach((name, url) -> out.println("metrics " + name + " " + url));
        if (prometheusTargets != null) {
            PrometheusTargets.write(prometheusTargets, pipeline.urls());
            closeables.add(() -> PrometheusTargets.write(prometheusTargets, Map.of()));
            out.println("prometheus-targets=" + prometheusTargets.toAbsolutePath());
        }
        out.flush();

        long deadline = trainStart + (long) (minutes * 60e9);
        Progress progress = new Progress(out, monitor, trainer, trained, trainStart, deadline);
        String stopReason;
        while (true) {
            Thread.sleep(Math.min(progressEvery.toMillis(), 1000));
            progress.maybePrint(progressEvery);
            if (pipeline.failure() != null) {
                stopReason = "a service failed";
                break;
            }
            if (versions > 0 && trainer.version() >= versions) {
                stopReason = "reached " + versions + " versions";
                break;
            }
            if (System.nanoTime() >= deadline) {
                stopReason = "reached " + minutes + " minutes";
                break;
            }
            if (stopRequested) {
                stopReason = "asked to stop";
                break;
            }
        }
        double trainSeconds = (System.nanoTime() - trainStart) / 1e9;
        progress.print();
        out.println("stopping: " + stopReason);
        out.flush();
        pipeline.stopActorsAndTrainer();
        long finalVersion = trainer.version();

        Evaluation.Result after = null;
        if (evalLevels > 0) {
            AdapterRef finalAdapter = finalAdapter(pipeline, finalVersion);
            after = Evaluation.run(evalPlayer, evalTask, EVAL_FIRST_SEED, evalLevels, 50, finalAdapter);
            Optional.ofNullable(finalAdapter.get().adapter()).ifPresent(LoraAdapter::close);
            out.printf("eval after training (version %d): success %.3f (%d/%d levels), mean return %.3f, %.0f s%n",
                    after.version(), after.successRate(), after.successes(), after.episodes(), after.meanReturn(),
                    after.seconds());
        }
        RunReport runReport = new RunReport(config(modelDir), warm == null ? null : warm.toJson(),
                monitor.byVersion(), trained, initial, after, randomMoves,
                monitor.totals(), progress.timeline(), trainSeconds, (System.nanoTime() - t0) / 1e9, pipeline.urls(),
                stopReason);
        for (Path written : runReport.write(report)) {
            out.println("wrote " + written);
        }
        out.flush();
        Throwable failure = pipeline.failure();
        if (failure != null) {
            spec.commandLine().getErr().println("error: " + failure.getMessage());
            return 1;
        }
        return 0;
    }

    /** The pipeline the options ask for, over {@link LocalPipeline.Settings#defaults}. */
    LocalPipeline.Settings pipelineSettings(Path data) {
        LocalPipeline.Settings settings = LocalPipeline.Settings.defaults(data);
        return settings.withPrefix(kafka.prefix()).withKafka(kafka.given()).withDevice(device, dtype)
                .withTasks(TaskDistribution.parse(List.of(taskSpec()))).withSeed(seed)
                .withActors(actors, groupsInFlight).withPlayers(this::playerConfig)
                .withBatching(training.batchGroups(), training.maxStaleness())
                .withAdvantage(settings.advantage().withGigpo(GigpoConfig.defaults()
                        .withMode(GigpoMode.parse(gigpoMode)).withOmega(omega)))
                .withTrainer(training.trainerConfig(seed))
                .withLora(training.loraSpec(""), training.initAdapter()); // the pipeline names the base model
    }

    private void validate() {
        List<String> problems = new ArrayList<>();
        if (!env.equals(SokobanFactory.NAME) && !household()) {
            problems.add("--env must be sokoban or household, got " + env);
        }
        if (!List.of("auto", "on", "off").contains(warmStart)) {
            problems.add("--warm-start must be auto, on or off, got " + warmStart);
        }
        try {
            playerConfig("check");
            if (warmStartEnabled()) {
                warmStartSpec();
            }
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (problems.isEmpty()) {
            // The first held-out level, so a bad --env-config fails here and not in every session later.
            try (Environment probe = WarmStart.environment(env).create()) {
                probe.reset(EVAL_FIRST_SEED, EnvConfig.of(effectiveEnvConfig()));
            } catch (EnvInputException e) {
                problems.add("--env-config: " + e.getMessage());
            }
        }
        if (!(minutes > 0)) {
            problems.add("--minutes must be > 0, got " + minutes);
        }
        if (torchThreads < 0) {
            problems.add("--torch-threads must be >= 0 (0: from the cores), got " + torchThreads);
        }
        if (versions < 0) {
            problems.add("--versions must be >= 0, got " + versions);
        }
        if (actors < 1 || groupsInFlight < 1 || groupSize < 1 || maxSteps() < 1 || training.batchGroups() < 1) {
            problems.add("--actors, --groups-in-flight, --group-size, --max-steps and --batch-groups must be >= 1");
        }
        if (evalLevels < 0) {
            problems.add("--eval-levels must be >= 0, got " + evalLevels);
        }
        try {
            String protocol = kafka.given().getProperty(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT");
            if (externalBootstrap() != null) {
                kafka.properties(); // checks the addresses
            } else if (!protocol.equalsIgnoreCase("PLAINTEXT")) {
                problems.add("the Kafka settings ask for security.protocol=" + protocol + " but the embedded broker "
                        + "speaks PLAINTEXT: pass --bootstrap HOST:PORT of the secured cluster");
            }
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        try {
            GigpoMode.parse(gigpoMode);
            training.trainerConfig(seed);
            training.loraSpec("");
            TaskDistribution.parse(List.of(taskSpec()));
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), String.join("; ", problems));
        }
    }

    /** The cluster of --bootstrap, else of bootstrap.servers in --kafka-config or --kafka; null: embedded. */
    private String externalBootstrap() {
        return kafka.given().getProperty(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
    }

    private String taskSpec() {
        StringBuilder s = new StringBuilder("env=" + env + ",seeds=0-" + EVAL_FIRST_SEED + ",group-size=" + groupSize
                + ",max-steps=" + maxSteps());
        effectiveEnvConfig().forEach((k, v) -> s.append(",config.").append(k).append('=').append(v));
        return s.toString();
    }

    /**
     * The environment settings of training and evaluation: {@code --env-config} over the local
     * defaults. Sokoban's defaults make levels that need skill: verl-agent's random walk of the
     * player after generation (up to 3 steps) and a shortest solution of at least 3 moves, so a
     * player moving at random solves about 6% of them (gym-sokoban's plain levels: about 33%).
     */
    Map<String, String> effectiveEnvConfig() {
        Map<String, String> c = new LinkedHashMap<>();
        if (env.equals(SokobanFactory.NAME)) {
            c.put(SokobanConfig.PLAYER_WALK, "3");
            c.put(SokobanConfig.MIN_SOLUTION, "3");
        } else if (household()) {
            // The easy end of the household: three receptacles, no distractors, pick-and-place.
            c.put("receptacles", "3");
            c.put("distractors", "0");
            c.put("goal_types", "pick_and_place");
        }
        c.putAll(envConfig);
        return c;
    }

    /** Step bounds per episode, and the compact format's settings on the household (see --help). */
    private static final int SOKOBAN_MAX_STEPS = 20;
    private static final int HOUSEHOLD_MAX_STEPS = 12;
    private static final int HOUSEHOLD_MAX_NEW_TOKENS = 12;
    private static final int HOUSEHOLD_HISTORY = 6;

    private boolean household() {
        return env.equals(HouseholdEnvironment.NAME);
    }

    private int maxSteps() {
        return maxSteps != null ? maxSteps : household() ? HOUSEHOLD_MAX_STEPS : SOKOBAN_MAX_STEPS;
    }

    PlayerConfig playerConfig(String id) {
        ActionFormat f = ActionFormat.named(format, actions);
        boolean compactHousehold = household() && f.name().equals(CompactFormat.NAME);
        int newTokens = maxNewTokens != null ? maxNewTokens
                : compactHousehold ? HOUSEHOLD_MAX_NEW_TOKENS : f.defaultMaxNewTokens();
        int turns = history != null ? history : compactHousehold ? HOUSEHOLD_HISTORY : f.defaultHistory();
        return new PlayerConfig(id, format, actions, training.temperature(), topP, newTokens, turns,
                maxPromptTokens, seed + id.hashCode());
    }

    private boolean warmStartEnabled() {
        return warmStart.equals("on") || warmStart.equals("auto") && model == null;
    }

    /** The warm start {@code local} makes with its default settings (Sokoban, seed 0). */
    public static WarmStartSpec defaultWarmStartSpec() {
        LocalCommand defaults = new LocalCommand();
        CommandLines.of(defaults, 1).parseArgs();
        return defaults.warmStartSpec();
    }

    private WarmStartSpec warmStartSpec() {
        PlayerConfig player = playerConfig("warm-start");
        return new WarmStartSpec(env, effectiveEnvConfig(), format, player.historyLength(), player.maxPromptTokens(),
                maxSteps(), warmStartDemos, 500, warmStartEpochs, 32, warmStartLr, warmStartMinutes * 60, seed);
    }

    /** A warm-started model and whether this run made it or reused one. */
    record WarmStartRun(Path dir, boolean reused, Map<?, ?> record) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", dir.toString());
            m.put("reused", reused);
            m.put("spec", record.get("spec"));
            ((Map<?, ?>) record.get("result")).forEach((k, v) -> m.put(k.toString(), v));
            return m;
        }
    }

    /** Writes REPORT/model, the warm-started base, unless it already holds one for this base and spec. */
    private WarmStartRun warmStart(PrintWriter out, Path base) throws IOException {
        Path dir = report.resolve("model");
        WarmStartSpec spec = warmStartSpec();
        boolean reused = WarmStart.matches(dir, base, spec);
        if (reused) {
            out.println("warm start: reusing " + dir + " (same base, settings and seed)");
        } else {
            out.printf(Locale.ROOT, "warm start: %d demonstration steps, %d epochs, at most %.1f minutes%n",
                    spec.demonstrations(), spec.epochs(), spec.maxSeconds() / 60);
            out.flush();
            WarmStart.run(base, dir, spec, (step, steps, loss, seconds) -> {
                out.printf(Locale.ROOT, "warm start: step %d/%d loss %.4f %.0f s%n", step, steps, loss, seconds);
                out.flush();
            });
        }
        Map<?, ?> record = WarmStart.recorded(dir);
        Map<?, ?> result = (Map<?, ?>) record.get("result");
        out.printf(Locale.ROOT, "warm start: %s demonstration steps, held-out demonstration loss %.3f -> %.3f, %.0f s%n",
                result.get("demonstrations"), ((Number) result.get("held_out_loss_before")).doubleValue(),
                ((Number) result.get("held_out_loss_after")).doubleValue(),
                ((Number) result.get("seconds")).doubleValue());
        out.flush();
        return new WarmStartRun(dir, reused, record);
    }

    /** The newest version on policy.weights, as the actors would load it. */
    private static AdapterRef finalAdapter(LocalPipeline pipeline, long expected) throws Exception {
        try (WeightReader reader = WeightReader.builder(pipeline.kafka(), pipeline.topics(), LocalPipeline.ADAPTER)
                .open()) {
            Optional<io.rollout.weights.AdapterVersion> newest = reader.catchUp(Duration.ofSeconds(60));
            if (newest.isEmpty()) {
                return AdapterRef.base();
            }
            if (newest.get().version() != expected) {
                throw new IllegalStateException("policy.weights holds version " + newest.get().version()
                        + " but the trainer ended at " + expected);
            }
            return new AdapterRef(new AdapterVersion(newest.get().version(),
                    pipeline.policy().adapterFromBytes(newest.get().bytes())));
        }
    }

    /** Mean versions between a sample's generating policy and the one it trained (version - 1). */
    private static double staleness(long version, List<SampleAssembler.Group> groups) {
        long n = 0;
        double sum = 0;
        for (SampleAssembler.Group g : groups) {
            for (SampleAssembler.Located l : g.samples()) {
                sum += Math.max(0, version - 1 - l.sample().getPolicyVersion());
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }

    private Map<String, Object> config(Path modelDir) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("env", env);
        c.put("env_config", effectiveEnvConfig());
        c.put("format", format);
        c.put("history", playerConfig("report").historyLength());
        c.put("max_new_tokens", playerConfig("report").maxNewTokens());
        c.put("top_p", topP);
        c.put("device", device);
        c.put("dtype", dtype);
        c.put("model", modelDir.toString());
        c.put("tiny_model", model == null);
        c.put("minutes", minutes);
        c.put("versions", versions);
        c.put("actors", actors);
        c.put("groups_in_flight", groupsInFlight);
        c.put("group_size", groupSize);
        c.put("max_steps", maxSteps());
        c.putAll(training.values()); // batch_groups, lr, kl_coef, lora_rank, ggpo, temperature, ...
        c.put("gigpo_mode", gigpoMode);
        c.put("omega", omega);
        c.put("eval_levels", evalLevels);
        c.put("eval_seeds", evalLevels == 0 ? "" : EVAL_FIRST_SEED + "-" + (EVAL_FIRST_SEED + evalLevels - 1));
        c.put("train_seeds", "0-" + (EVAL_FIRST_SEED - 1));
        c.put("seed", seed);
        c.put("prefix", kafka.prefix());
        c.put("embedded_broker", externalBootstrap() == null);
        // The protocol only: the settings themselves may hold passwords.
        c.put("kafka_security_protocol",
                kafka.given().getProperty(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT"));
        c.put("cpus", Runtime.getRuntime().availableProcessors());
        c.put("torch_threads", Engines.intraOpThreads());
        return c;
    }

    /** Writes the tiny random model; the same seed writes the same bytes, so a rerun changes nothing. */
    private Path tinyModel(Path dir) {
        TinyModels.write(dir, TinyModelSpec.defaults(), TinyModels.defaultWords(), seed);
        return dir;
    }

    private void closeAll() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                spec.commandLine().getErr().println("warning: closing failed: " + e.getMessage());
                for (Throwable also : e.getSuppressed()) { // the pipeline's further ones
                    spec.commandLine().getErr().println("warning: closing failed: " + also.getMessage());
                }
            }
        }
        closeables.clear();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // a temporary directory; the OS cleans it up eventually
        }
    }
}
