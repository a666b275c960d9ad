package io.rollout.env.cli;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.api.BearerToken;
import io.rollout.env.Seeds;
import io.rollout.env.remote.RemoteEnvFactory;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.LevelStats;
import io.rollout.env.sokoban.SokobanConfig;
import io.rollout.runtime.cli.DurationConverter;
import io.rollout.runtime.cli.EnvDefaults;
import io.rollout.runtime.cli.RootCommand;
import io.rollout.runtime.config.CommandLines;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Option;

/** {@code env-service}: serves the environments over HTTP. */
@Command(
        name = "env-service",
        description = "Environments (Sokoban, a text household task, remote environment servers) behind an HTTP API.",
        subcommands = {EnvServiceCommand.Serve.class, EnvServiceCommand.Levels.class, CommandLine.HelpCommand.class})
public final class EnvServiceCommand extends RootCommand {

    private static final Logger log = LoggerFactory.getLogger(EnvServiceCommand.class);

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line: one-line errors, exit 2 for usage, 1 for failures. */
    public static CommandLine commandLine() {
        return CommandLines.of(new EnvServiceCommand(), 1);
    }

    /** Runs the HTTP server until SIGTERM. */
    @Command(
            name = "serve",
            mixinStandardHelpOptions = true,
            modelTransformer = EnvServiceCommand.Serve.Env.class,
            description = {
                "Serves the environments over HTTP until stopped with SIGTERM or Ctrl-C.",
                "Prints 'listening=http://HOST:PORT' on one line of standard output once ready.",
                "Every option can also come from an environment variable, named in its description."
            })
    static final class Serve implements Callable<Integer> {

        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Option(names = "--host", paramLabel = "HOST", defaultValue = "${env:ENV_SERVICE_HOST:-127.0.0.1}",
                description = "Address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}; env ENV_SERVICE_HOST).")
        String host;

        @Option(names = "--port", paramLabel = "PORT", defaultValue = "${env:ENV_SERVICE_PORT:-8080}",
                description = "Port; 0 takes a free one (default: ${DEFAULT-VALUE}; env ENV_SERVICE_PORT).")
        int port;

        @Option(names = "--max-sessions", paramLabel = "N", defaultValue = "${env:ENV_SERVICE_MAX_SESSIONS:-1024}",
                description = "Open sessions at most; more are answered 429 (default: ${DEFAULT-VALUE}; env ENV_SERVICE_MAX_SESSIONS).")
        int maxSessions;

        @Option(names = "--session-ttl", paramLabel = "DURATION", defaultValue = "${env:ENV_SERVICE_SESSION_TTL:-10m}",
                converter = DurationConverter.class,
                description = "Idle sessions close after this long, e.g. 90s, 10m (default: ${DEFAULT-VALUE}; env ENV_SERVICE_SESSION_TTL).")
        Duration sessionTtl;

        @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "${env:ENV_SERVICE_MAX_BODY:-65536}",
                description = "Largest request body; larger ones are answered 413 (default: ${DEFAULT-VALUE}; env ENV_SERVICE_MAX_BODY).")
        long maxBody;

        @Option(names = "--max-observation", paramLabel = "BYTES",
                defaultValue = "${env:ENV_SERVICE_MAX_OBSERVATION:-262144}",
                description = {"Largest answer carrying an observation; a larger one is an environment bug, answered "
                    + "500 observation_too_large and counted in env_errors_total (default: ${DEFAULT-VALUE}; "
                    + "env ENV_SERVICE_MAX_OBSERVATION).",
                    "Keep it well below the Kafka broker's message size (1 MB by default): a step record carries "
                    + "the observation."})
        int maxObservation;

        @Option(names = "--auth-token-file", paramLabel = "FILE",
                defaultValue = "${env:ENV_SERVICE_AUTH_TOKEN_FILE}",
                description = {"A file holding the bearer token (16 to 4096 visible ASCII characters; surrounding "
                    + "white space is ignored), e.g. made with: openssl rand -hex 32 > FILE; chmod 600 FILE.",
                    "Every /v1/ request must then carry 'Authorization: Bearer TOKEN', else it is answered 401; "
                    + "/metrics asks for the same token; /health and /ready stay open for probes. The token is taken "
                    + "only from a file, never from the command line, so it does not show in ps "
                    + "(env ENV_SERVICE_AUTH_TOKEN_FILE).",
                    "Required when --host is not a loopback address."})
        Path authTokenFile;

        @Option(names = "--insecure-no-auth",
                description = "UNSAFE: serve a non-loopback --host without a token; anyone who can reach the port "
                        + "can open sessions and drive the environments. For isolated networks only.")
        boolean insecureNoAuth;

        @Option(names = "--remote", paramLabel = "SPEC",
                description = {"A remote environment server to offer, e.g.",
                    "name=alfworld,url=http://127.0.0.1:36001,protocol=agentgym-alfworld,timeout=30s,retries=2",
                    "(see docs/remote-environments.md). Repeatable."})
        List<String> remotes = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (maxSessions < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--max-sessions must be >= 1, got " + maxSessions);
            }
            if (sessionTtl.isZero() || sessionTtl.isNegative()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--session-ttl must be positive");
            }
            EnvServer.Options options;
            try {
                BearerToken token = authTokenFile == null ? null : readToken(authTokenFile);
                options = new EnvServer.Options(host, port, maxBody, sweepInterval(sessionTtl), token, insecureNoAuth,
                        maxObservation);
                options.requireAuthUnlessLoopback();
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            EnvRegistry registry;
            try {
                List<EnvironmentFactory> factories = new ArrayList<>(Environments.builtIn());
                for (String remote : remotes) {
                    factories.add(RemoteEnvFactory.fromSpec(remote));
                }
                registry = new EnvRegistry(factories);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--remote: " + e.getMessage());
            }
            SessionManager sessions = new SessionManager(registry, maxSessions, sessionTtl, System::nanoTime);
            EnvServer server = EnvServer.start(options, sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "env-service-shutdown"));
            spec.commandLine().getOut().println("listening=" + server.url());
            spec.commandLine().getOut().flush();
            stopped.await();
            return 0;
        }

        private static BearerToken readToken(Path file) {
            BearerToken token = BearerToken.fromFile(file);
            try {
                Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
                if (permissions.stream().anyMatch(p -> p.name().startsWith("GROUP_") || p.name().startsWith("OTHERS_"))) {
                    log.warn("the auth token file {} is readable by other users ({}); chmod 600 it", file,
                            PosixFilePermissions.toString(permissions));
                }
            } catch (IOException | UnsupportedOperationException e) {
                // Not a POSIX file system, or gone since it was read: nothing to warn about.
            }
            return token;
        }

        private static Duration sweepInterval(Duration ttl) {
            Duration quarter = ttl.dividedBy(4);
            return quarter.compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : quarter;
        }

        /** Every option from ENV_SERVICE_ and its name: ENV_SERVICE_HOST, ENV_SERVICE_PORT, ENV_SERVICE_REMOTE, ... */
        static final class Env extends EnvDefaults {
            Env() {
                super("ENV_SERVICE_", Scope.EVERY_OPTION);
            }
        }
    }

    /** Measures how hard a range of Sokoban levels is. */
    @Command(
            name = "levels",
            mixinStandardHelpOptions = true,
            description = {
                "Generates the Sokoban levels of a seed range and prints how hard they are: the distribution of "
                    + "their shortest solutions (moves, by breadth-first search) and the success rate of a player "
                    + "that moves uniformly at random for max_steps moves. Nothing is served.",
                "Example: levels --env-config player_walk=3 --env-config min_solution=6 --first-seed 1000000000 "
                    + "--levels 500"
            })
    static final class Levels implements Callable<Integer> {

        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Option(names = "--env-config", paramLabel = "KEY=VALUE",
                description = "A Sokoban setting (dim_x, dim_y, num_boxes, max_steps, search_depth, player_walk, "
                        + "min_solution). Repeatable; unset keys take the environment's defaults.")
        Map<String, String> envConfig = new LinkedHashMap<>();

        @Option(names = "--first-seed", defaultValue = "1000000000",
                description = "First level seed (default: ${DEFAULT-VALUE}, the first held-out level of 'rollout local').")
        long firstSeed;

        @Option(names = "--levels", defaultValue = "500", description = "Levels to measure (default: ${DEFAULT-VALUE}).")
        int levels;

        @Option(names = "--random-episodes", defaultValue = "20",
                description = "Random-move episodes per level (default: ${DEFAULT-VALUE}).")
        int randomEpisodes;

        @Option(names = "--seed", defaultValue = "0", description = "Seed of the random moves (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            if (levels < 1 || randomEpisodes < 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--levels must be >= 1 and --random-episodes >= 0");
            }
            SokobanConfig config;
            try {
                Seeds.check(firstSeed);
                Seeds.check(firstSeed + levels - 1);
                config = SokobanConfig.from(EnvConfig.of(envConfig));
            } catch (RuntimeException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            LevelStats stats = LevelStats.measure(config, firstSeed, levels, randomEpisodes, seed);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("levels=%d seeds=%d-%d config=%s%n", levels, firstSeed, firstSeed + levels - 1, config.asMap());
            out.printf(Locale.ROOT, "shortest solution: mean %.2f moves, >=5 moves %.3f%n",
                    stats.meanSolution(), stats.shareAtLeast(5));
            StringBuilder hist = new StringBuilder("moves:levels");
            stats.solutionLengths().entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> hist.append(' ').append(e.getKey()).append(':').append(e.getValue()));
            out.println(hist);
            out.printf(Locale.ROOT, "random mover: success %.3f (%d episodes per level, %d moves each)%n",
                    stats.randomSuccess(), randomEpisodes, config.maxSteps());
            out.flush();
            return 0;
        }
    }
}
