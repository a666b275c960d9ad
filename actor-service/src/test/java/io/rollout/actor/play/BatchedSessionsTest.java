package io.rollout.actor.play;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.actor.TestWorld;
import io.rollout.actor.play.EnvProxy.StepsRoute;
import io.rollout.env.api.CreateSessionsRequest;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvSessionLostException;
import io.rollout.env.server.EnvServer;
import io.rollout.policy.Policy;
import io.rollout.records.Step;
import io.rollout.records.Task;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A group's env sessions opened with one {@code POST /v1/sessions/batch} and closed with one
 * {@code POST /v1/sessions/close}: the same steps as one request per session, sessions closed also
 * after an outage, and the fallback to one request per session for an env-service without the
 * routes. Real tiny model, real env-service on loopback, with a counting {@link EnvProxy} in front.
 */
class BatchedSessionsTest {

    private static final String CREATE_BATCH = "POST /v1/sessions/batch";
    private static final String CLOSE_BATCH = "POST /v1/sessions/close";
    private static final String CREATE = "POST /v1/sessions";
    private static final String CLOSE = "DELETE /v1/sessions/{id}";

    private static Policy policy;
    private static ExecutorService envCalls;

    private final PlayerConfig config = PlayerConfig.defaults("actor-test", "compact").withSeed(42L);

    @BeforeAll
    static void start() {
        policy = TestWorld.policy();
        envCalls = Executors.newFixedThreadPool(4);
    }

    @AfterAll
    static void stop() {
        envCalls.shutdownNow();
    }

    private static EnvClient client(String url) {
        return EnvClient.create(url, Duration.ofSeconds(2), Duration.ofSeconds(10));
    }

    /** The steps as text without their timings, which differ from run to run. */
    private static List<String> untimed(List<Step> steps) {
        return steps.stream().map(s -> s.toString().replaceFirst("\"timings\": \\{[^}]*}", "")).toList();
    }

    @Test
    void shouldPlayTheSameStepsWithOneCreateAndOneCloseRequestPerGroup() throws IOException {
        Task task = TestWorld.sokobanTask("g-sessions", 21, 8, 4);
        long[] seeds = {4, 5, 6, 7, 8};
        EnvServer server = TestWorld.startServer(64);
        List<Step> batched = new ArrayList<>();
        List<Step> single = new ArrayList<>();
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, config, envCalls);
            batched.addAll(player.play(task, AdapterRef.base()));
            player.playEach(task, seeds, AdapterRef.base(), batched::add);

            assertThat(proxy.requests(CREATE_BATCH)).as("one per group").isEqualTo(2);
            assertThat(proxy.requests(CLOSE_BATCH)).as("one per group").isEqualTo(2);
            assertThat(proxy.requests(CREATE)).isZero();
            assertThat(proxy.requests(CLOSE)).isZero();
            assertThat(proxy.sessions()).hasSize(13);
            assertThat(openSessions(server)).isZero();
        }
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, config, envCalls).singleStepping();
            single.addAll(player.play(task, AdapterRef.base()));
            player.playEach(task, seeds, AdapterRef.base(), single::add);

            assertThat(proxy.requests(CREATE_BATCH) + proxy.requests(CLOSE_BATCH)).isZero();
            assertThat(proxy.requests(CREATE)).isEqualTo(13);
            assertThat(proxy.requests(CLOSE)).isEqualTo(13);
        } finally {
            server.close();
        }

        assertThat(untimed(batched)).isEqualTo(untimed(single));
        assertThat(batched).anyMatch(Step::getValid).anyMatch(s -> s.getT() > 0);
        assertThat(batched).allSatisfy(s -> assertThat(s.getTimings().getEnvMicros()).isPositive());
    }

    @Test
    void shouldCloseEverySessionAfterAnOutage() throws IOException {
        EnvServer server = TestWorld.startServer(64);
        PlayerConfig think = PlayerConfig.defaults("actor-test", "think-action").withMaxNewTokens(4).withSeed(3L);
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD); EnvClient env = client(proxy.url());
                EnvClient direct = client(server.url())) {
            List<Step> steps = new ArrayList<>();
            assertThatThrownBy(() -> GroupPlayer.create(policy, env, think, envCalls).raisingEnvOutages()
                    .play(TestWorld.sokobanTask("g-outage", 4, 4, 3), AdapterRef.base(), step -> {
                        steps.add(step);
                        if (steps.size() == 4) {
                            direct.closeSession(proxy.sessions().get(2)); // env-service forgets one session
                        }
                    })).isInstanceOf(EnvOutageException.class).hasCauseInstanceOf(EnvSessionLostException.class);

            assertThat(proxy.requests(CLOSE_BATCH)).isEqualTo(1);
            assertThat(openSessions(server)).as("the other 3 closed by the player, the lost one counted as closed")
                    .isZero();
        } finally {
            server.close();
        }
    }

    @Test
    void shouldOpenAndCloseEachSessionAloneFromThenOnWhenTheServerHasNoBatchRoutes() throws IOException {
        Task task = TestWorld.sokobanTask("g-old-sessions", 5, 4, 3);
        EnvServer server = TestWorld.startServer(64);
        List<Step> expected;
        try (EnvClient env = client(server.url())) {
            expected = GroupPlayer.create(policy, env, config, envCalls).play(task, AdapterRef.base());
        }
        try (EnvProxy proxy = new EnvProxy(server.url(), StepsRoute.FORWARD, false);
                EnvClient env = client(proxy.url())) {
            GroupPlayer player = GroupPlayer.create(policy, env, config, envCalls);
            List<Step> first = player.raisingEnvOutages().play(task, AdapterRef.base());
            List<Step> second = player.play(task, AdapterRef.base());

            assertThat(untimed(first)).isEqualTo(untimed(expected));
            assertThat(untimed(second)).isEqualTo(untimed(expected));
            assertThat(proxy.requests(CREATE_BATCH)).as("asked once, remembered by the player and its copies")
                    .isEqualTo(1);
            assertThat(proxy.requests(CLOSE_BATCH)).as("remembered from the create").isZero();
            assertThat(proxy.requests(CREATE)).isEqualTo(8);
            assertThat(proxy.requests(CLOSE)).isEqualTo(8);
            assertThat(openSessions(server)).isZero();
        } finally {
            server.close();
        }
        // Closing alone meets the 405 an env-service without the routes answers, and falls back too.
        EnvServer other = TestWorld.startServer(16);
        try (EnvProxy proxy = new EnvProxy(other.url(), StepsRoute.FORWARD, false);
                EnvClient env = client(proxy.url()); EnvClient direct = client(other.url())) {
            GroupSessions sessions = new GroupSessions(env, envCalls, false);
            List<String> ids = List.of(direct.createSession("sokoban", 1, Map.of()).session(),
                    direct.createSession("sokoban", 2, Map.of()).session());
            sessions.close(ids);

            assertThat(proxy.requests(CLOSE_BATCH)).isEqualTo(1);
            assertThat(proxy.requests(CLOSE)).isEqualTo(2);
            assertThat(sessions.singleCalls()).isTrue();
            assertThat(openSessions(other)).isZero();
        } finally {
            other.close();
        }
    }

    @Test
    void shouldOpenAndCloseMoreSessionsThanOneRequestTakesInSeveral() throws IOException {
        int n = CreateSessionsRequest.MAX_SESSIONS + 44;
        EnvServer big = TestWorld.startServer(2 * n);
        try (EnvProxy proxy = new EnvProxy(big.url(), StepsRoute.FORWARD); EnvClient env = client(big.url());
                EnvClient counted = client(proxy.url())) {
            GroupSessions sessions = new GroupSessions(counted, envCalls, false);
            long[] seeds = LongStream.range(0, n).toArray();
            List<Timed<SessionCreated>> created = sessions.create("sokoban", seeds, Map.of("max_steps", "9"));

            assertThat(proxy.requests(CREATE_BATCH)).isEqualTo(2);
            assertThat(created).hasSize(n).allSatisfy(c -> assertThat(c.error()).isNull());
            for (int i = 0; i < n; i += 37) {
                assertThat(created.get(i).value().seed()).isEqualTo(i);
                assertThat(created.get(i).value().observation())
                        .isEqualTo(env.createSession("sokoban", i, Map.of("max_steps", "9")).observation());
            }
            assertThat(openSessions(big)).isEqualTo(n + (n + 36) / 37);

            sessions.close(created.stream().map(c -> c.value().session()).toList());
            assertThat(proxy.requests(CLOSE_BATCH)).isEqualTo(2);
            assertThat(proxy.requests(CREATE) + proxy.requests(CLOSE)).isZero();
            assertThat(openSessions(big)).isEqualTo((n + 36) / 37);
        } finally {
            big.close();
        }
    }

    private static int openSessions(EnvServer server) {
        try {
            HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(server.url() + "/health")).build(), HttpResponse.BodyHandlers.ofString());
            return new ObjectMapper().readTree(health.body()).get("sessions_open").asInt();
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
