package io.rollout.actor;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.policy.Policy;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.records.Task;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A real tiny model (one per test JVM) and real in-process env-service servers. */
public final class TestWorld {

    private static Policy policy;

    private TestWorld() {}

    /** The default tiny model, loaded once. */
    public static synchronized Policy policy() {
        if (policy == null) {
            try {
                Path dir = Files.createTempDirectory("actor-tiny");
                dir.toFile().deleteOnExit();
                TinyModels.write(dir, TinyModelSpec.defaults(), TinyModels.defaultWords(), 11);
                policy = Policy.load(dir);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return policy;
    }

    /** An env-service with Sokoban and household on a free loopback port. */
    public static EnvServer startServer(int maxSessions) {
        return startServer(maxSessions, 0);
    }

    /** An env-service with Sokoban and household on {@code port} (0: a free one), with no sessions. */
    public static EnvServer startServer(int maxSessions, int port, EnvironmentFactory... more) {
        return startServer(new EnvServer.Options("127.0.0.1", port, 1 << 16, Duration.ofHours(1)), maxSessions, more);
    }

    /** An env-service with Sokoban, household and {@code more}, with these options. */
    public static EnvServer startServer(EnvServer.Options options, int maxSessions, EnvironmentFactory... more) {
        List<EnvironmentFactory> factories = new ArrayList<>(List.of(new SokobanFactory(), new HouseholdFactory()));
        factories.addAll(List.of(more));
        SessionManager sessions = new SessionManager(new EnvRegistry(factories), maxSessions, Duration.ofMinutes(5),
                System::nanoTime);
        return EnvServer.start(options, sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    public static Task sokobanTask(String groupId, long seed, int groupSize, int maxSteps) {
        return Task.newBuilder().setGroupId(groupId).setEnv("sokoban").setEnvConfig(Map.of()).setSeed(seed)
                .setGroupSize(groupSize).setMaxSteps(maxSteps).setAttempt(0).setPolicyVersion(0)
                .setCreatedAtMs(System.currentTimeMillis()).build();
    }
}
