package io.rollout.actor.cli;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.prompt.CompactFormat;
import io.rollout.actor.prompt.ThinkActionFormat;
import io.rollout.actor.service.Actor;
import io.rollout.actor.service.ActorService;
import io.rollout.env.client.EnvClient;
import io.rollout.runtime.metrics.MetricsAuthOptions;
import io.rollout.runtime.metrics.MetricsHttpServer;
import io.rollout.policy.ModelFormatException;
import io.rollout.policy.Policy;
import io.rollout.policy.sampling.ContinuousBatcher;
import io.rollout.policy.text.ChatTemplate;
import io.rollout.runtime.cli.EnvDefaults;
import io.rollout.runtime.cli.KafkaOptions;
import io.rollout.runtime.cli.ModelOptions;
import io.rollout.runtime.config.CommandLines;
import io.rollout.runtime.metrics.Registries;
import io.rollout.schemas.topics.TopicCatalog;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs one actor until SIGTERM. */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        modelTransformer = RunCommand.Env.class,
        description = {
            "Joins the consumer group on rollout.tasks and plays each task's group of episodes against env-service,",
            "with several groups in flight whose episodes decode in one batch per process: a round joins it between",
            "two decode steps and leaves when its sequences end (--max-batch-sequences). Publishes one Step per",
            "action to rollout.steps and commits a task only after all its steps are acknowledged; a task of a dead",
            "actor is re-delivered and replayed under a new attempt. Follows policy.weights from the newest version",
            "and swaps adapters between generation rounds.",
            "Outages: when env-service is unreachable or restarted (connection failure or timeout, 404 unknown_session)",
            "or Kafka does not answer, the actor reports not ready (/ready 503), takes no new task and retries with",
            "exponential backoff and jitter (--outage-backoff up to --outage-backoff-max); a group that lost its",
            "env-service sessions is played again from its start under a new attempt, at most --outage-replays times.",
            "A step bigger than --max-step-bytes drops its group (INFRA_ERROR) and the task is committed.",
            "SIGTERM stops taking tasks, lets the groups in play finish for --drain-timeout, gives the rest back",
            "uncommitted (another actor replays them) and exits within the drain timeout and a few seconds.",
            "/health (liveness) is 503 once the actor failed or drains; /ready (readiness) is 503 until the actor",
            "has joined its consumer group (even with no partition) and during an outage.",
            "Exit codes: 143 after SIGTERM (the signal's); 1 the actor failed (an Error such as OutOfMemoryError while playing or",
            "in the task loop, a step Kafka refused for good), its unfinished tasks are left uncommitted; 2 bad usage.",
            "--model is the learner's base model. Prints 'metrics=URL', then 'running' on standard output.",
            "Every option can also come from an environment variable, named in its description."
        })
final class RunCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    /** Exit code of an actor that failed (see the description). */
    static final int EXIT_FAILED = 1;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    private KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--env-url", paramLabel = "URL", defaultValue = "${env:ACTOR_ENV_URL}",
            description = "Base URL of env-service, e.g. http://127.0.0.1:8090 (env ACTOR_ENV_URL).")
    private String envUrl;

    @Option(names = "--env-auth-token-file", paramLabel = "FILE", defaultValue = "${env:ACTOR_ENV_AUTH_TOKEN_FILE}",
            description = {"Send the bearer token in FILE to env-service (its --auth-token-file); read once at start,",
                "never logged (default: none; env ACTOR_ENV_AUTH_TOKEN_FILE)."})
    private Path envAuthTokenFile;

    @Option(names = "--env-timeout", paramLabel = "DURATION", defaultValue = "30s",
            description = {"Deadline of one env-service request (connect, TLS and every read). A timeout is an outage:",
                "the group is played again after backoff (see --outage-backoff) (default: ${DEFAULT-VALUE})."})
    private Duration envTimeout;

    @Option(names = "--env-threads", defaultValue = "16",
            description = "Threads making env-service calls (default: ${DEFAULT-VALUE}).")
    private int envThreads;

    @CommandLine.Mixin
    private ModelOptions model = new ModelOptions();

    @Option(names = "--actor-id", defaultValue = "${env:ACTOR_ID}",
            description = "Recorded in every step (default: actor-<pid>@<host>; env ACTOR_ID).")
    private String actorId;

    @Option(names = "--consumer-group",
            description = "Consumer group on rollout.tasks (default: the run prefix followed by 'actors').")
    private String consumerGroup;

    @Option(names = "--groups-in-flight", defaultValue = "2",
            description = "Tasks played at once, each on its own thread (default: ${DEFAULT-VALUE}).")
    private int groupsInFlight;

    @Option(names = "--max-batch-sequences", defaultValue = "64",
            description = {"Sequences decoded together at most: the episodes of all groups in flight that sample with the",
                "same adapter version share one decode batch of up to this many sequences (a bigger round still runs",
                "alone); rounds of a newer version start once the batch has drained (default: ${DEFAULT-VALUE})."})
    private int maxBatchSequences;

    @Option(names = "--drain-timeout", paramLabel = "DURATION", defaultValue = "20s",
            description = "On SIGTERM, how long groups in play may finish before they are given back; the process exits "
                    + "within this and a few seconds, so keep it ~10 s below the pod's termination grace period "
                    + "(default: ${DEFAULT-VALUE}).")
    private Duration drainTimeout;

    @Option(names = "--max-step-bytes", paramLabel = "BYTES", defaultValue = "0",
            description = "A step (key and value) bigger than this drops its group as INFRA_ERROR; 0: the producer's "
                    + "max.request.size less 512 bytes, which also bounds a larger value (default: ${DEFAULT-VALUE}).")
    private int maxStepBytes;

    @Option(names = "--outage-backoff", paramLabel = "DURATION", defaultValue = "500ms",
            description = "First wait after an env-service or Kafka outage; waits double, with jitter (default: ${DEFAULT-VALUE}).")
    private Duration outageBackoff;

    @Option(names = "--outage-backoff-max", paramLabel = "DURATION", defaultValue = "30s",
            description = "Longest wait between retries during an outage (default: ${DEFAULT-VALUE}).")
    private Duration outageBackoffMax;

    @Option(names = "--outage-replays", defaultValue = "10",
            description = "Times one group is played again after env-service lost it before it ends as INFRA_ERROR "
                    + "(default: ${DEFAULT-VALUE}).")
    private int outageReplays;

    @Option(names = "--adapter-name", defaultValue = "policy",
            description = "Adapter followed on policy.weights (default: ${DEFAULT-VALUE}).")
    private String adapterName;

    @Option(names = "--topic-wait", paramLabel = "DURATION", defaultValue = "60s",
            description = "How long to wait at start for the topics and the newest weights (default: ${DEFAULT-VALUE}).")
    private Duration topicWait;

    @Option(names = "--format", defaultValue = "auto",
            description = "Prompt and answer format: compact, think-action, or auto (compact for a model without a chat "
                    + "template, think-action otherwise) (default: ${DEFAULT-VALUE}).")
    private String format;

    @Option(names = "--actions", split = ",", paramLabel = "WORD[,WORD...]",
            description = "compact only: the action words accepted where an environment lists none (default: up,down,left,right).")
    private List<String> actions = new ArrayList<>();

    @Option(names = "--temperature", defaultValue = "1.0",
            description = "Sampling temperature; must match the learner's --temperature (default: ${DEFAULT-VALUE}).")
    private double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling (default: ${DEFAULT-VALUE}).")
    private double topP;

    @Option(names = "--max-new-tokens", defaultValue = "0",
            description = "Response length bound; 0: the format's (8 compact, 256 think-action) (default: ${DEFAULT-VALUE}).")
    private int maxNewTokens;

    @Option(names = "--history", defaultValue = "-1",
            description = "Earlier turns shown in a prompt; -1: the format's (0 compact, 2 think-action) (default: ${DEFAULT-VALUE}).")
    private int history;

    @Option(names = "--max-prompt-tokens", defaultValue = "4096",
            description = "Prompt length bound; history goes first, then the prompt's start (default: ${DEFAULT-VALUE}).")
    private int maxPromptTokens;

    @Option(names = "--seed", description = "Sampling seed; without it sampling is unseeded (default: none).")
    private Long seed;

    @CommandLine.Mixin
    private MetricsAuthOptions metricsAuth = new MetricsAuthOptions();

    @Option(names = "--metrics-host", defaultValue = "${env:ACTOR_METRICS_HOST:-127.0.0.1}",
            description = "Address of /metrics, /health and /ready (default: ${DEFAULT-VALUE}; env ACTOR_METRICS_HOST).")
    private String metricsHost;

    @Option(names = "--metrics-port", defaultValue = "${env:ACTOR_METRICS_PORT:-9406}",
            description = "Port of /metrics, /health and /ready; 0 takes a free one (default: ${DEFAULT-VALUE}; env ACTOR_METRICS_PORT).")
    private int metricsPort;

    @Override
    public Integer call() throws Exception {
        if (model.model() == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--model is required (or ACTOR_MODEL)");
        }
        if (envUrl == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--env-url is required (or ACTOR_ENV_URL)");
        }
        Policy policy;
        try {
            policy = Policy.load(model.model(), model.device(), model.dtype());
        } catch (ModelFormatException | IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--model " + model.model() + ": " + e.getMessage());
        }
        String id = actorId == null || actorId.isBlank() ? "actor-" + ManagementFactory.getRuntimeMXBean().getName()
                : actorId;
        PlayerConfig player;
        ActorService.Settings settings;
        ContinuousBatcher.Settings batching;
        Properties props;
        TopicCatalog topics;
        try {
            player = playerConfig(id, policy);
            settings = new ActorService.Settings(id, consumerGroup != null ? consumerGroup : kafka.prefix() + ActorCommand.DEFAULT_CONSUMER_GROUP,
                    groupsInFlight, drainTimeout, maxStepBytes, outageBackoff, outageBackoffMax, outageReplays);
            props = kafka.properties();
            topics = kafka.topics();
            if (envThreads < 1) {
                throw new IllegalArgumentException("--env-threads must be >= 1, got " + envThreads);
            }
            if (maxBatchSequences < 1) {
                throw new IllegalArgumentException("--max-batch-sequences must be >= 1, got " + maxBatchSequences);
            }
            batching = new ContinuousBatcher.Settings(maxBatchSequences);
        } catch (IllegalArgumentException e) {
            policy.close();
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrometheusMeterRegistry registry = Registries.prometheusWithJvmMeters();
        EnvClient.Builder envBuilder = EnvClient.builder(envUrl).connectTimeout(Duration.ofSeconds(10))
                .requestTimeout(envTimeout);
        if (envAuthTokenFile != null) {
            envBuilder.authTokenFile(envAuthTokenFile);
        }
        EnvClient env = envBuilder.build();
        Actor actor = Actor.start(policy, env, player, settings, topics, props, registry, adapterName, topicWait,
                envThreads, batching);
        MetricsHttpServer http = MetricsHttpServer.start(metricsHost, metricsPort, registry, actor.service()::healthy,
                actor.service()::ready, metricsAuth.auth());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            actor.close();
            http.close();
            env.close();
            if (actor.modelReleased()) {
                policy.close();
            } // else the batcher is still inside the model (a long generation); the process is ending anyway
        }, "actor-shutdown"));
        spec.commandLine().getOut().println("metrics=" + http.url());
        spec.commandLine().getOut().println("running");
        spec.commandLine().getOut().flush();
        actor.service().awaitStopped(Duration.ofDays(36500));
        return exitCode(actor.service().failure());
    }

    /** 0 for an actor stopped by SIGTERM, {@link #EXIT_FAILED} for one stopped by {@code failure}, logged. */
    int exitCode(Throwable failure) {
        if (failure == null) {
            return 0;
        }
        LOG.error("actor failed, exiting with code {}: {}", EXIT_FAILED, CommandLines.oneLine(failure), failure);
        spec.commandLine().getErr().println("error: " + CommandLines.oneLine(failure));
        return EXIT_FAILED;
    }

    private PlayerConfig playerConfig(String id, Policy policy) {
        String f = switch (format) {
            case "auto" -> policy.chatTemplate() == ChatTemplate.PLAIN ? CompactFormat.NAME : ThinkActionFormat.NAME;
            default -> format;
        };
        PlayerConfig defaults = PlayerConfig.defaults(id, f);
        return new PlayerConfig(id, f, actions, temperature, topP,
                maxNewTokens == 0 ? defaults.maxNewTokens() : maxNewTokens,
                history < 0 ? defaults.historyLength() : history, maxPromptTokens, seed);
    }

    /** Every option from ACTOR_ and its name: ACTOR_BOOTSTRAP, ACTOR_ENV_URL, ACTOR_ID, ACTOR_GROUPS_IN_FLIGHT, ... */
    static final class Env extends EnvDefaults {
        Env() {
            super("ACTOR_", Scope.EVERY_OPTION);
        }
    }
}
