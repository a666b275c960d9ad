package io.rollout.env.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.Environment;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.LogCapture;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.api.EnvInfo;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.client.EnvSessionLostException;
import io.rollout.env.client.EnvUnavailableException;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.sokoban.SokobanFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP API on a real server on a loopback port, through the Java client and raw HTTP. */
class EnvServerTest {

    private static final int MAX_SESSIONS = 50;
    private static final Duration TTL = Duration.ofMinutes(5);

    private static final AtomicLong clock = new AtomicLong();
    private static SessionManager sessions;
    private static EnvServer server;
    private static EnvClient client;
    private static final HttpClient raw = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        sessions = new SessionManager(new EnvRegistry(List.of(new SokobanFactory(), new HouseholdFactory())),
                MAX_SESSIONS, TTL, clock::get);
        server = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1)), sessions,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        client = EnvClient.create(server.url(), Duration.ofSeconds(2), Duration.ofSeconds(5));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void shouldListEnvironmentsWithTheirConfigDefaults() {
        List<EnvInfo> envs = client.environments();

        assertThat(envs).extracting(EnvInfo::name).containsExactly("sokoban", "household");
        assertThat(envs.get(0).config()).containsEntry("max_steps", "15").containsKey("dim_x");
    }

    @Test
    void shouldPlayAnEpisodeThroughCreateStepResetAndClose() {
        SessionCreated created = client.createSession("sokoban", 7, Map.of("max_steps", "3"));
        assertThat(created.observation().anchor()).contains("P").contains("#");
        assertThat(created.seed()).isEqualTo(7);

        StepResult first = client.step(created.session(), "I will move up");
        StepResult invalid = client.step(created.session(), "jump");
        assertThat(first.actionValid()).isTrue();
        assertThat(invalid.actionValid()).isFalse();
        assertThat(invalid.reward()).isEqualTo(-0.1, org.assertj.core.api.Assertions.within(1e-9));

        Observation again = client.reset(created.session(), 7, Map.of("max_steps", "3"));
        assertThat(again).isEqualTo(created.observation());

        client.closeSession(created.session());
        assertThatThrownBy(() -> client.step(created.session(), "up"))
                .isInstanceOfSatisfying(EnvSessionLostException.class, e -> {
                    assertThat(e.status()).isEqualTo(404);
                    assertThat(e.kind()).isEqualTo("unknown_session");
                });
    }

    @Test
    void shouldListAdmissibleActionsOfTheHouseholdTask() {
        SessionCreated created = client.createSession("household", 3, Map.of());

        assertThat(created.observation().admissibleActions()).contains("look", "inventory");
        client.closeSession(created.session());
    }

    @Test
    void shouldRefuseAStepAfterTheEpisodeEnded() {
        SessionCreated created = client.createSession("sokoban", 11, Map.of("max_steps", "1"));
        assertThat(client.step(created.session(), "left").done()).isTrue();

        assertThatThrownBy(() -> client.step(created.session(), "left"))
                .isInstanceOfSatisfying(EnvRequestException.class, e -> {
                    assertThat(e.status()).isEqualTo(409);
                    assertThat(e.kind()).isEqualTo("episode_done");
                });
        client.closeSession(created.session());
    }

    @Test
    void shouldAnswerClientMistakesWithA4xxNamingTheProblem() throws Exception {
        assertError(post("/v1/sessions", "{\"env\":\"chess\",\"seed\":1}"), 404, "unknown_env", "chess");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1"), 400, "malformed_request", "malformed JSON");
        assertError(post("/v1/sessions", "not json at all"), 400, "malformed_request", "malformed JSON");
        assertError(post("/v1/sessions", ""), 400, "malformed_request", "empty body");
        assertError(post("/v1/sessions", "[1,2]"), 400, "malformed_request", "");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\"}"), 400, "malformed_request", "'seed' is required");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1,\"sed\":2}"), 400, "malformed_request", "sed");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1.5}"), 400, "malformed_request", "");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":-1}"), 400, "seed_out_of_range", "-1");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":9007199254740992}"), 400, "seed_out_of_range", "");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dimx\":6}}"), 400,
                "unknown_config_key", "dimx");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dim_x\":\"huge\"}}"), 400,
                "bad_config_value", "dim_x");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dim_x\":[6]}}"), 400,
                "bad_config_value", "dim_x");
        assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1,\"pad\":\"" + "x".repeat(5000) + "\"}"), 413,
                "body_too_large", "4096");
        assertError(post("/v1/sessions/0123/step", "{\"action\":\"up\"}"), 404, "unknown_session", "0123");
        assertError(send("GET", "/v1/nothing-here", null), 404, "not_found", "/v1/nothing-here");
        assertError(send("PUT", "/v1/sessions", "{}"), 405, "method_not_allowed", "PUT");
        assertThat(sessions.open()).as("no failed request leaves a session behind").isZero();
    }

    @Test
    void shouldAnswerAnOversizedBodyWithA413ThatTheClientReceives() throws Exception {
        // The client is still sending when the server decides; closing on the unread bytes reset
        // the connection and the client saw no answer at all.
        for (int i = 0; i < 3; i++) {
            assertError(post("/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1,\"pad\":\"" + "x".repeat(500_000) + "\"}"),
                    413, "body_too_large", "4096");
        }
        SessionCreated created = client.createSession("sokoban", 1, Map.of());
        assertThat(created.observation().text()).as("the service still answers").isNotBlank();
        client.closeSession(created.session());
    }

    @Test
    void shouldRefuseASokobanConfigThatCostsTooMuchSearch() throws Exception {
        // Valid settings whose generation explored up to 200 x 1.3M states (about a minute).
        String hostile = "{\"env\":\"sokoban\",\"seed\":0,\"config\":{\"dim_x\":12,\"dim_y\":12,\"num_boxes\":4,"
                + "\"max_steps\":200,\"search_depth\":300,\"player_walk\":10,\"min_solution\":200}}";
        HttpRequest request = HttpRequest.newBuilder(URI.create(server.url() + "/v1/sessions"))
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(hostile)).build();

        assertError(raw.send(request, HttpResponse.BodyHandlers.ofString()), 400, "config_too_expensive",
                "search states");
        assertThat(sessions.open()).isZero();
    }

    @Test
    void shouldKeepOtherSessionsWorkingAfterErrors() throws Exception {
        SessionCreated healthy = client.createSession("sokoban", 21, Map.of());
        String id = healthy.session();

        assertError(post("/v1/sessions/" + id + "/step", "{\"act\":\"up\"}"), 400, "malformed_request", "act");
        assertError(post("/v1/sessions/" + id + "/step", "{"), 400, "malformed_request", "");
        assertError(post("/v1/sessions/" + id + "/reset", "{\"seed\":-5}"), 400, "seed_out_of_range", "");

        assertThat(client.step(id, "down").actionValid()).isTrue();
        client.closeSession(id);
    }

    @Test
    void shouldExpireIdleSessionsAndSaySo() {
        SessionCreated idle = client.createSession("sokoban", 5, Map.of());
        SessionCreated busy = client.createSession("sokoban", 6, Map.of());
        clock.addAndGet(TTL.toNanos() - 1);
        client.step(busy.session(), "up");
        clock.addAndGet(2);

        assertThat(sessions.expireIdle()).isEqualTo(1);
        assertThatThrownBy(() -> client.step(idle.session(), "up"))
                .isInstanceOfSatisfying(EnvRequestException.class, e -> {
                    assertThat(e.status()).isEqualTo(410);
                    assertThat(e.kind()).isEqualTo("session_expired");
                });
        assertThat(client.step(busy.session(), "down").actionValid()).isTrue();
        client.closeSession(busy.session());
    }

    @Test
    void shouldAnswer429AtTheSessionLimit() {
        List<String> opened = new java.util.ArrayList<>();
        for (int i = 0; i < MAX_SESSIONS; i++) {
            opened.add(client.createSession("sokoban", i, Map.of()).session());
        }

        assertThatThrownBy(() -> client.createSession("sokoban", 99, Map.of()))
                .isInstanceOfSatisfying(EnvRequestException.class, e -> {
                    assertThat(e.status()).isEqualTo(429);
                    assertThat(e.kind()).isEqualTo("too_many_sessions");
                });
        client.closeSession(opened.get(0));
        opened.set(0, client.createSession("sokoban", 99, Map.of()).session());
        opened.forEach(client::closeSession);
    }

    @Test
    void shouldServeHealthAndPrometheusMetrics() throws Exception {
        SessionCreated created = client.createSession("sokoban", 8, Map.of());
        client.step(created.session(), "up");
        client.closeSession(created.session());
        post("/v1/sessions", "{\"env\":\"chess\",\"seed\":1}");

        HttpResponse<String> health = send("GET", "/health", null);
        HttpResponse<String> metrics = send("GET", "/metrics", null);

        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("\"status\":\"ok\"");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body())
                .contains("env_sessions_open{env=\"sokoban\"}")
                .contains("env_steps_total{action_valid=\"true\",env=\"sokoban\"}")
                .contains("env_step_latency_seconds_bucket")
                .contains("env_errors_total{kind=\"unknown_env\"}")
                .contains("env_sessions_opened_total{env=\"sokoban\"}")
                .contains("jvm_memory_used_bytes");
    }

    @Test
    void shouldRaiseAnInfrastructureErrorWhenTheServiceIsDownOrSilent() throws Exception {
        int freePort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            freePort = socket.getLocalPort();
        }
        EnvClient down = EnvClient.create("http://127.0.0.1:" + freePort, Duration.ofMillis(500), Duration.ofMillis(500));
        assertThatThrownBy(() -> down.createSession("sokoban", 1, Map.of()))
                .isInstanceOf(EnvUnavailableException.class)
                .hasMessageContaining("127.0.0.1:" + freePort);

        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            EnvClient slow = EnvClient.create("http://127.0.0.1:" + silent.getLocalPort(), Duration.ofMillis(500),
                    Duration.ofMillis(300));
            long start = System.nanoTime();
            assertThatThrownBy(() -> slow.step("abc", "up"))
                    .isInstanceOf(EnvUnavailableException.class)
                    .hasMessageContaining("SocketTimeoutException");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000);
        }
    }

    @Test
    void shouldAnswerAFailureWithAGeneric5xxAndLogItsDetailsUnderTheIdTheAnswerNames() throws Exception {
        SessionManager brokenSessions = new SessionManager(new EnvRegistry(List.of(new BrokenFactory())), 4, TTL,
                clock::get);
        try (LogCapture log = LogCapture.start();
                EnvServer broken = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1)),
                        brokenSessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
                EnvClient brokenClient = EnvClient.create(broken.url(), Duration.ofSeconds(2), Duration.ofSeconds(5))) {
            String session = brokenClient.createSession("broken", 1, Map.of()).session();

            HttpResponse<String> bug = send(broken.url(), "POST", "/v1/sessions/" + session + "/step",
                    "{\"action\":\"bug\"}");
            HttpResponse<String> outage = send(broken.url(), "POST", "/v1/sessions/" + session + "/step",
                    "{\"action\":\"outage\"}");

            assertError(bug, 500, "internal", "internal error, see the server log (id ");
            assertError(outage, 502, "infrastructure_error", "see the server log (id ");
            for (HttpResponse<String> answer : List.of(bug, outage)) {
                assertThat(answer.body()).doesNotContain(BrokenFactory.SECRET).doesNotContain("Exception")
                        .doesNotContain("10.1.2.3");
                String id = errorId(answer.body());
                assertThat(log.events()).as("the log line of error %s", id)
                        .anySatisfy(event -> assertThat(event).contains(id).contains(BrokenFactory.SECRET));
            }
            assertThat(errorId(bug.body())).isNotEqualTo(errorId(outage.body()));
            assertThatThrownBy(() -> brokenClient.step(session, "bug"))
                    .isInstanceOf(EnvInfrastructureException.class)
                    .hasMessageContaining("internal error, see the server log (id ")
                    .hasMessageNotContaining(BrokenFactory.SECRET);
        }
    }

    @Test
    void shouldRefuseToServeAnObservationOverTheLimitAndTheClientToReadOneOverItsBound() throws Exception {
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        SessionManager bigSessions = new SessionManager(new EnvRegistry(List.of(new BrokenFactory())), 4, TTL, clock::get);
        try (EnvServer limited = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1)),
                bigSessions, metrics);
                EnvClient limitedClient = EnvClient.create(limited.url(), Duration.ofSeconds(2), Duration.ofSeconds(5))) {
            String session = limitedClient.createSession("broken", 1, Map.of()).session();

            assertThat(limitedClient.step(session, "big:100000").observation().text()).hasSize(100_000);
            HttpResponse<String> tooBig = send(limited.url(), "POST", "/v1/sessions/" + session + "/step",
                    "{\"action\":\"big:150000\"}");
            assertError(tooBig, 500, "observation_too_large", "over this service's limit of 262144 bytes");
            assertThat(tooBig.body()).hasSizeLessThan(300).doesNotContain("xxx");
            assertThat(metrics.scrape()).contains("env_errors_total{kind=\"observation_too_large\"} 1.0");
        }

        SessionManager generousSessions = new SessionManager(new EnvRegistry(List.of(new BrokenFactory())), 4, TTL,
                clock::get);
        try (EnvServer generous = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1))
                        .withMaxObservationBytes(4 << 20), generousSessions,
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
                EnvClient bounded = EnvClient.create(generous.url(), Duration.ofSeconds(2), Duration.ofSeconds(5))) {
            String session = bounded.createSession("broken", 1, Map.of()).session();

            assertThatThrownBy(() -> bounded.step(session, "big:2000000"))
                    .isInstanceOf(EnvInfrastructureException.class)
                    .hasMessageContaining("exceeds this client's limit of 1048576 bytes");
            assertThat(bounded.step(session, "big:10").observation().text()).hasSize(10);
        }
    }

    @Test
    void shouldTellALostSessionFromAServiceThatIsDown() {
        EnvServer first = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1)),
                new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 4, TTL, clock::get),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
        int port = first.port();
        try (EnvClient restarted = EnvClient.create(first.url(), Duration.ofSeconds(1), Duration.ofSeconds(2))) {
            String session = restarted.createSession("sokoban", 1, Map.of()).session();
            first.close();

            // The kept-alive connection is gone, then the port refuses: both are an outage, not a bad request.
            for (int i = 0; i < 2; i++) {
                assertThatThrownBy(() -> restarted.step(session, "up")).isInstanceOf(EnvUnavailableException.class)
                        .hasMessageContaining("127.0.0.1:" + port);
            }

            try (EnvServer second = EnvServer.start(new EnvServer.Options("127.0.0.1", port, 4096, Duration.ofHours(1)),
                    new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 4, TTL, clock::get),
                    new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
                assertThatThrownBy(() -> restarted.step(session, "up"))
                        .isInstanceOfSatisfying(EnvSessionLostException.class, e -> {
                            assertThat(e.status()).isEqualTo(404);
                            assertThat(e.kind()).isEqualTo("unknown_session");
                        });
                restarted.closeSession(session);
                String fresh = restarted.createSession("sokoban", 1, Map.of()).session();
                assertThat(restarted.step(fresh, "up").actionValid()).isTrue();
            }
        }
    }

    @Test
    void shouldRejectABadServiceUrl() {
        assertThatThrownBy(() -> EnvClient.create("localhost:8080", Duration.ofSeconds(1), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected http://HOST:PORT");
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return send("POST", path, body);
    }

    private static HttpResponse<String> send(String method, String path, String body) throws Exception {
        return send(server.url(), method, path, body);
    }

    private static HttpResponse<String> send(String base, String method, String path, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(Duration.ofSeconds(5));
        request.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return raw.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void assertError(HttpResponse<String> response, int status, String kind, String mentions) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).contains("json"));
        assertThat(response.body()).contains("\"error\":\"" + kind + "\"").contains(mentions);
    }

    private static String errorId(String body) {
        Matcher m = Pattern.compile("\\(id ([0-9a-f]+)\\)").matcher(body);
        assertThat(m.find()).as("an error id in %s", body).isTrue();
        return m.group(1);
    }

    /** An environment with bugs: its step throws with a message no client should see, or answers "big:N" with N characters. */
    static final class BrokenFactory implements EnvironmentFactory {
        static final String SECRET = "password=hunter2";

        @Override
        public String name() {
            return "broken";
        }

        @Override
        public String description() {
            return "fails on every step";
        }

        @Override
        public Map<String, String> configDefaults() {
            return Map.of();
        }

        @Override
        public Environment create() {
            return new Environment() {
                @Override
                public String name() {
                    return "broken";
                }

                @Override
                public Observation reset(long seed, EnvConfig config) {
                    return Observation.ofState("start");
                }

                @Override
                public StepResult step(String action) {
                    if (action.startsWith("big:")) {
                        String text = "x".repeat(Integer.parseInt(action.substring(4)));
                        return new StepResult(Observation.ofState(text), 0, false, false, true);
                    }
                    if (action.equals("outage")) {
                        throw new EnvInfrastructureException("remote http://10.1.2.3:36001 refused " + SECRET);
                    }
                    throw new IllegalStateException("cannot reach db with " + SECRET);
                }
            };
        }
    }
}
