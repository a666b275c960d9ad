package io.rollout.env.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.api.CreateSessionRequest;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.client.CloseOutcome;
import io.rollout.env.client.CreateOutcome;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.client.EnvSessionLostException;
import io.rollout.env.client.EnvUnavailableException;
import io.rollout.env.client.StepOutcome;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.sokoban.SokobanFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/steps}, {@code POST /v1/sessions/batch} and {@code /close}, and the client's
 * {@link EnvClient#stepAll}, {@link EnvClient#createSessions} and {@link EnvClient#closeSessions},
 * on real servers on loopback ports.
 */
class EnvServerBatchTest {

    private static final Duration TTL = Duration.ofMinutes(5);
    private static final String[] SOKOBAN_ACTIONS = {"up", "left", "jump", "down", "right", "right", "up", "down"};
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient raw = HttpClient.newHttpClient();

    private final AtomicLong clock = new AtomicLong();
    private final List<AutoCloseable> opened = new ArrayList<>();
    private PrometheusMeterRegistry metrics;
    private SessionManager sessions;
    private EnvServer server;
    private EnvClient client;

    @BeforeEach
    void start() {
        metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        sessions = sessions(new SokobanFactory(), new HouseholdFactory(), new EnvServerTest.BrokenFactory());
        server = serve(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofHours(1)), sessions, metrics);
        client = client(server);
    }

    @AfterEach
    void stop() throws Exception {
        Collections.reverse(opened);
        for (AutoCloseable c : opened) {
            c.close();
        }
    }

    @Test
    void shouldAnswerABatchExactlyAsTheSingleStepsItReplaces() {
        EnvServer singleServer = serve(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofHours(1)),
                sessions(new SokobanFactory(), new HouseholdFactory()), metrics());
        EnvClient single = client(singleServer);
        List<String> envs = List.of("sokoban", "sokoban", "sokoban", "sokoban", "household", "household", "household");
        List<Map<String, String>> configs = List.of(Map.of(), Map.of("max_steps", "4"), Map.of("dim_x", "7"),
                Map.of(), Map.of(), Map.of("max_steps", "5"), Map.of());
        List<String> singleIds = new ArrayList<>();
        List<String> batchIds = new ArrayList<>();
        List<Observation> last = new ArrayList<>();
        for (int s = 0; s < envs.size(); s++) {
            var a = single.createSession(envs.get(s), 100 + s, configs.get(s));
            var b = client.createSession(envs.get(s), 100 + s, configs.get(s));
            assertThat(b.observation()).isEqualTo(a.observation());
            singleIds.add(a.session());
            batchIds.add(b.session());
            last.add(a.observation());
        }

        int compared = 0;
        int done = 0;
        int refused = 0;
        for (int turn = 0; turn < 40; turn++) {
            List<String> actions = new ArrayList<>();
            for (int s = 0; s < envs.size(); s++) {
                List<String> admissible = last.get(s).admissibleActions();
                actions.add(admissible.isEmpty() ? SOKOBAN_ACTIONS[(turn + s) % SOKOBAN_ACTIONS.length]
                        : admissible.get((turn * 7 + s) % admissible.size()));
            }
            List<StepOutcome> batched = client.stepAll(IntStream.range(0, envs.size())
                    .mapToObj(s -> new StepBatchRequest.Item(batchIds.get(s), actions.get(s))).toList());
            for (int s = 0; s < envs.size(); s++) {
                StepOutcome outcome = batched.get(s);
                assertThat(outcome.session()).isEqualTo(batchIds.get(s));
                try {
                    StepResult expected = single.step(singleIds.get(s), actions.get(s));
                    assertThat(outcome.result()).as("turn %d session %d", turn, s).isEqualTo(expected);
                    last.set(s, expected.observation());
                    done += expected.done() ? 1 : 0;
                } catch (EnvRequestException expected) {
                    assertThat(outcome.failure()).as("turn %d session %d", turn, s)
                            .isInstanceOfSatisfying(EnvRequestException.class, e -> {
                                assertThat(e.status()).isEqualTo(expected.status());
                                assertThat(e.kind()).isEqualTo(expected.kind()).isEqualTo("episode_done");
                                assertThat(e.getMessage()).isEqualTo(expected.getMessage());
                            });
                    refused++;
                }
                compared++;
            }
        }
        assertThat(compared).isEqualTo(40 * envs.size());
        assertThat(done).as("episodes that ended within the run").isGreaterThanOrEqualTo(4);
        assertThat(refused).as("steps after an episode ended, refused by both").isPositive();
        assertThat(metrics.scrape()).contains("env_step_batches_total 40.0")
                .contains("env_step_batch_items_total " + (40.0 * envs.size()));
    }

    @Test
    void shouldAnswerEachItemOnItsOwnWithTheBodyASingleStepWouldGet() throws Exception {
        String live = client.createSession("sokoban", 1, Map.of()).session();
        String finished = client.createSession("sokoban", 11, Map.of("max_steps", "1")).session();
        client.step(finished, "left");
        String expired = client.createSession("sokoban", 2, Map.of()).session();
        String broken = client.createSession("broken", 1, Map.of()).session();
        clock.addAndGet(TTL.toNanos() + 1);
        client.step(live, "up");
        client.step(broken, "big:1");
        assertThat(sessions.expireIdle()).isEqualTo(2); // the expired one and the finished one

        String body = "{\"steps\":[{\"session\":\"" + live + "\",\"action\":\"down\"},"
                + "{\"session\":\"0123\",\"action\":\"up\"},"
                + "{\"session\":\"" + expired + "\",\"action\":\"up\"},"
                + "{\"session\":\"" + live + "\"},"
                + "42,"
                + "{\"session\":\"" + live + "\",\"action\":\"up\",\"extra\":1},"
                + "{\"session\":\"" + broken + "\",\"action\":\"bug\"},"
                + "{\"session\":\"" + broken + "x\",\"action\":\"up\"}]}";
        HttpResponse<String> answer = post("/v1/steps", body);

        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        JsonNode results = JSON.readTree(answer.body()).get("results");
        assertThat(results).hasSize(8);
        assertThat(results.get(0).get("status").asInt()).isEqualTo(200);
        assertThat(results.get(0).get("session").asText()).isEqualTo(live);
        assertThat(results.get(0).get("result").get("action_valid").asBoolean()).isTrue();
        assertThat(results.get(0).has("error")).isFalse();
        assertItemLikeSingleStep(results.get(1), "0123", 404, "unknown_session");
        assertItemLikeSingleStep(results.get(2), expired, 410, "session_expired");
        assertItem(results.get(3), 400, "malformed_request", "'action' is required");
        assertItem(results.get(4), 400, "malformed_request", "not a JSON object");
        assertThat(results.get(4).get("session").isNull()).isTrue();
        assertItem(results.get(5), 400, "malformed_request", "extra");
        assertItem(results.get(6), 500, "internal", "internal error, see the server log (id ");
        assertThat(results.get(6).toString()).doesNotContain(EnvServerTest.BrokenFactory.SECRET);
        assertItemLikeSingleStep(results.get(7), broken + "x", 404, "unknown_session");
        // Each item error is counted as a single step's is: twice here, with the single steps compared with.
        assertThat(metrics.scrape()).contains("env_errors_total{kind=\"unknown_session\"} 4.0")
                .contains("env_errors_total{kind=\"session_expired\"} 2.0")
                .contains("env_errors_total{kind=\"malformed_request\"} 3.0");
    }

    @Test
    void shouldAnswerAStepAfterTheEpisodeEndedAsTheSingleStepDoes() throws Exception {
        String finished = client.createSession("sokoban", 11, Map.of("max_steps", "1")).session();
        client.step(finished, "left");

        HttpResponse<String> batch = post("/v1/steps", "{\"steps\":[{\"session\":\"" + finished + "\",\"action\":\"up\"}]}");
        HttpResponse<String> single = post("/v1/sessions/" + finished + "/step", "{\"action\":\"up\"}");

        JsonNode item = JSON.readTree(batch.body()).get("results").get(0);
        assertThat(single.statusCode()).isEqualTo(409);
        assertThat(item.get("status").asInt()).isEqualTo(409);
        assertThat(item.get("error")).isEqualTo(JSON.readTree(single.body()));
    }

    @Test
    void shouldRefuseABatchOverTheLimitOrWithoutItemsAsAWhole() throws Exception {
        String session = client.createSession("sokoban", 3, Map.of()).session();
        String item = "{\"session\":\"" + session + "\",\"action\":\"up\"}";
        String atLimit = String.join(",", Collections.nCopies(StepBatchRequest.MAX_STEPS, item));

        assertError(post("/v1/steps", "{\"steps\":[" + atLimit + "," + item + "]}"), 400, "batch_too_large",
                "at most 256");
        assertError(post("/v1/steps", "{\"steps\":[]}"), 400, "malformed_request", "'steps' is empty");
        assertError(post("/v1/steps", "{}"), 400, "malformed_request", "'steps' is required");
        assertError(post("/v1/steps", "{\"steps\":[" + item + "],\"x\":1}"), 400, "malformed_request", "x");
        assertError(post("/v1/steps", "{\"steps\":[" + atLimit.replace("up", "u".repeat(300)) + "]}"), 413,
                "body_too_large", "65536");
        assertThat(client.step(session, "down").actionValid()).as("none of the refused batches was applied")
                .isTrue();
        assertThat(metrics.scrape()).contains("env_steps_total{action_valid=\"true\",env=\"sokoban\"} 1.0");

        // At the limit, every item is answered: all but the first name a session already in the batch.
        JsonNode results = JSON.readTree(post("/v1/steps", "{\"steps\":[" + atLimit + "]}").body()).get("results");
        assertThat(results).hasSize(StepBatchRequest.MAX_STEPS);
        assertThat(results.get(0).get("status").asInt()).isEqualTo(200);
        assertItem(results.get(255), 400, "duplicate_session", "already has item 0");
        assertThatThrownBy(() -> client.stepAll(Collections.nCopies(StepBatchRequest.MAX_STEPS + 1,
                new StepBatchRequest.Item(session, "up")))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 to 256 items, got 257");
        assertThatThrownBy(() -> client.stepAll(List.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldApplyTheFirstItemOfASessionAndRefuseItsLaterOnesInTheSameBatch() {
        String twice = client.createSession("sokoban", 5, Map.of()).session();
        String other = client.createSession("sokoban", 6, Map.of()).session();
        String reference = client.createSession("sokoban", 5, Map.of()).session();

        List<StepOutcome> outcomes = client.stepAll(List.of(new StepBatchRequest.Item(twice, "up"),
                new StepBatchRequest.Item(other, "left"), new StepBatchRequest.Item(twice, "down")));

        assertThat(outcomes.get(0).result()).isEqualTo(client.step(reference, "up"));
        assertThat(outcomes.get(1).succeeded()).isTrue();
        assertThat(outcomes.get(2).failure()).isInstanceOfSatisfying(EnvRequestException.class, e -> {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.kind()).isEqualTo("duplicate_session");
        });
        assertThatThrownBy(outcomes.get(2)::resultOrThrow).isSameAs(outcomes.get(2).failure());
        assertThat(client.step(twice, "left")).as("only the first item moved the session")
                .isEqualTo(client.step(reference, "left"));
        assertThat(metrics.scrape()).contains("env_errors_total{kind=\"duplicate_session\"} 1.0")
                .contains("env_step_batch_items_total 3.0");
    }

    @Test
    void shouldClassifyEachItemsFailureAsTheSingleStepDoes() {
        String ok = client.createSession("sokoban", 7, Map.of()).session();
        String broken = client.createSession("broken", 1, Map.of()).session();
        String bigger = client.createSession("broken", 2, Map.of()).session();
        String finished = client.createSession("sokoban", 11, Map.of("max_steps", "1")).session();
        client.step(finished, "left");

        List<StepOutcome> outcomes = client.stepAll(List.of(new StepBatchRequest.Item(ok, "up"),
                new StepBatchRequest.Item("feed", "up"), new StepBatchRequest.Item(broken, "outage"),
                new StepBatchRequest.Item(bigger, "big:300000"), new StepBatchRequest.Item(finished, "up")));

        assertThat(outcomes).extracting(StepOutcome::succeeded).containsExactly(true, false, false, false, false);
        assertThat(outcomes.get(1).failure()).isInstanceOf(EnvSessionLostException.class);
        assertThat(outcomes.get(2).failure()).isExactlyInstanceOf(EnvInfrastructureException.class)
                .hasMessageContaining("502 infrastructure_error").hasMessageContaining("for session " + broken)
                .hasMessageNotContaining("10.1.2.3");
        assertThat(outcomes.get(3).failure()).isExactlyInstanceOf(EnvInfrastructureException.class)
                .hasMessageContaining("500 observation_too_large");
        assertThat(outcomes.get(4).failure()).isInstanceOfSatisfying(EnvRequestException.class,
                e -> assertThat(e.kind()).isEqualTo("episode_done"));
    }

    @Test
    void shouldStopFillingABatchAnswerBeforeItsBoundAndLeaveTheRestUnapplied() throws Exception {
        SessionManager small = sessions(new EnvServerTest.BrokenFactory());
        EnvServer limited = serve(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofHours(1))
                .withMaxObservationBytes(4096), small, metrics());
        EnvClient limitedClient = client(limited);
        List<StepBatchRequest.Item> items = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            items.add(new StepBatchRequest.Item(limitedClient.createSession("broken", i, Map.of()).session(),
                    "big:1500"));
        }

        HttpResponse<String> answer = send(limited.url(), "/v1/steps", JSON.writeValueAsString(Map.of("steps", items)));
        List<StepOutcome> outcomes = limitedClient.stepAll(items);

        assertThat(answer.body().length()).isLessThanOrEqualTo(3 * 4096 + 1024);
        List<Integer> statuses = new ArrayList<>();
        JSON.readTree(answer.body()).get("results").forEach(r -> statuses.add(r.get("status").asInt()));
        assertThat(statuses).containsExactly(200, 200, 200, 503, 503, 503);
        assertThat(outcomes.get(2).result().observation().text()).hasSize(1500);
        assertThat(outcomes.get(3).failure()).isInstanceOf(EnvUnavailableException.class)
                .hasMessageContaining("batch_answer_full").hasMessageContaining("send the step again");
    }

    @Test
    void shouldThrowForTheWholeBatchWhenTheServiceIsDownOrItsAnswerTooLarge() throws Exception {
        int freePort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            freePort = socket.getLocalPort();
        }
        try (EnvClient down = EnvClient.create("http://127.0.0.1:" + freePort, Duration.ofMillis(500),
                Duration.ofMillis(500))) {
            assertThatThrownBy(() -> down.stepAll(List.of(new StepBatchRequest.Item("a", "up"))))
                    .isInstanceOf(EnvUnavailableException.class).hasMessageContaining("/v1/steps");
        }

        String session = client.createSession("broken", 1, Map.of()).session();
        try (EnvClient bounded = EnvClient.builder(server.url()).maxAnswerBytes(2048).build()) {
            assertThatThrownBy(() -> bounded.stepAll(List.of(new StepBatchRequest.Item(session, "big:4000"))))
                    .isExactlyInstanceOf(EnvInfrastructureException.class)
                    .hasMessageContaining("exceeds this client's limit of 2048 bytes");
            assertThat(bounded.stepAll(List.of(new StepBatchRequest.Item(session, "big:10"))).get(0)
                    .resultOrThrow().observation().text()).hasSize(10);
        }
    }

    @Test
    void shouldCreateAndCloseSessionsInOneRequestAsTheSingleCallsDo() {
        List<CreateSessionRequest> items = List.of(new CreateSessionRequest("sokoban", 1L, Map.of()),
                new CreateSessionRequest("sokoban", 2L, Map.of("max_steps", 4)),
                new CreateSessionRequest("household", 3L, Map.of()),
                new CreateSessionRequest("sokoban", 1L, Map.of("dim_x", "7")));

        List<CreateOutcome> created = client.createSessions(items);

        assertThat(created).hasSize(4).allMatch(CreateOutcome::succeeded);
        for (int i = 0; i < items.size(); i++) {
            CreateSessionRequest item = items.get(i);
            Map<String, String> config = new java.util.HashMap<>();
            item.config().forEach((k, v) -> config.put(k, v.toString()));
            SessionCreated single = client.createSession(item.env(), item.seed(), config);
            SessionCreated batched = created.get(i).createdOrThrow();
            assertThat(batched.observation()).as("item %d", i).isEqualTo(single.observation());
            assertThat(batched.env()).isEqualTo(item.env());
            assertThat(batched.seed()).isEqualTo(item.seed());
            assertThat(batched.session()).isNotEqualTo(single.session());
            assertThat(client.step(batched.session(), "up")).isEqualTo(client.step(single.session(), "up"));
        }
        assertThat(sessions.open()).isEqualTo(8);

        List<String> ids = created.stream().map(c -> c.created().session()).toList();
        List<CloseOutcome> closed = client.closeSessions(ids);

        assertThat(closed).extracting(CloseOutcome::session).containsExactlyElementsOf(ids);
        assertThat(closed).allMatch(CloseOutcome::succeeded);
        assertThat(sessions.open()).isEqualTo(4);
        assertThatThrownBy(() -> client.step(ids.get(0), "up")).isInstanceOf(EnvSessionLostException.class);
        assertThat(client.closeSessions(ids)).as("already gone counts as closed, as closeSession has it")
                .allMatch(CloseOutcome::succeeded);
        assertThat(metrics.scrape()).contains("env_session_batches_total{op=\"create\"} 1.0")
                .contains("env_session_batch_items_total{op=\"create\"} 4.0")
                .contains("env_session_batches_total{op=\"close\"} 2.0")
                .contains("env_session_batch_items_total{op=\"close\"} 8.0")
                .contains("env_sessions_opened_total{env=\"sokoban\"} 6.0");
        assertThatThrownBy(() -> client.createSessions(List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> client.closeSessions(Collections.nCopies(257, "a")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 256 items, got 257");
    }

    @Test
    void shouldAnswerEachCreationAndClosingWithTheBodyTheSingleCallWouldGet() throws Exception {
        String body = "{\"sessions\":[{\"env\":\"sokoban\",\"seed\":5},"
                + "{\"env\":\"chess\",\"seed\":1},"
                + "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dim_x\":\"wide\"}},"
                + "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"colour\":1}},"
                + "{\"env\":\"sokoban\",\"seed\":-1},"
                + "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dim_x\":12,\"dim_y\":12,\"num_boxes\":4,"
                + "\"max_steps\":200,\"search_depth\":300,\"player_walk\":10,\"min_solution\":200}},"
                + "{\"env\":\"sokoban\"},"
                + "7,"
                + "{\"env\":\"sokoban\",\"seed\":1,\"extra\":1}]}";
        HttpResponse<String> answer = post("/v1/sessions/batch", body);

        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
        JsonNode results = JSON.readTree(answer.body()).get("results");
        assertThat(results).hasSize(9);
        assertThat(results.get(0).get("status").asInt()).isEqualTo(201);
        assertThat(results.get(0).get("result").get("seed").asLong()).isEqualTo(5);
        assertThat(results.get(0).has("error")).isFalse();
        String[] singles = {null, "{\"env\":\"chess\",\"seed\":1}",
                "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dim_x\":\"wide\"}}",
                "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"colour\":1}}",
                "{\"env\":\"sokoban\",\"seed\":-1}",
                "{\"env\":\"sokoban\",\"seed\":1,\"config\":{\"dim_x\":12,\"dim_y\":12,\"num_boxes\":4,"
                + "\"max_steps\":200,\"search_depth\":300,\"player_walk\":10,\"min_solution\":200}}"};
        for (int i = 1; i < singles.length; i++) {
            HttpResponse<String> single = post("/v1/sessions", singles[i]);
            assertThat(results.get(i).get("status").asInt()).as("item %d: %s", i, single.body())
                    .isEqualTo(single.statusCode()).isBetween(400, 404);
            assertThat(results.get(i).get("error")).isEqualTo(JSON.readTree(single.body()));
            assertThat(results.get(i).has("result")).isFalse();
        }
        assertThat(results.get(1).get("error").get("error").asText()).isEqualTo("unknown_env");
        assertThat(results.get(5).get("error").get("error").asText()).isEqualTo("config_too_expensive");
        assertItem(results.get(6), 400, "malformed_request", "item 6: field 'seed' is required");
        assertItem(results.get(7), 400, "malformed_request", "item 7 is not a JSON object");
        assertItem(results.get(8), 400, "malformed_request", "extra");
        assertThat(sessions.open()).as("only the first item opened one").isEqualTo(1);

        String live = results.get(0).get("result").get("session").asText();
        JsonNode closed = JSON.readTree(post("/v1/sessions/close",
                "{\"sessions\":[\"" + live + "\",\"0123\",\"" + live + "\",5]}").body()).get("results");
        assertThat(closed).hasSize(4);
        assertThat(closed.get(0).get("session").asText()).isEqualTo(live);
        assertThat(closed.get(0).get("status").asInt()).isEqualTo(204);
        assertThat(closed.get(0).has("error")).isFalse();
        HttpResponse<String> singleClose = raw.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/sessions/0123"))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(closed.get(1).get("status").asInt()).isEqualTo(singleClose.statusCode()).isEqualTo(404);
        assertThat(closed.get(1).get("error")).isEqualTo(JSON.readTree(singleClose.body()));
        assertItem(closed.get(2), 404, "unknown_session", live);
        assertItem(closed.get(3), 400, "malformed_request", "item 3 is not a session id");
        assertThat(sessions.open()).isZero();

        List<CreateOutcome> outcomes = client.createSessions(List.of(new CreateSessionRequest("chess", 1L, Map.of()),
                new CreateSessionRequest("sokoban", 1L, Map.of("dim_x", "wide"))));
        assertThat(outcomes.get(0).failure()).isInstanceOfSatisfying(EnvRequestException.class, e -> {
            assertThat(e.status()).isEqualTo(404);
            assertThat(e.kind()).isEqualTo("unknown_env");
        });
        assertThatThrownBy(outcomes.get(1)::createdOrThrow).isSameAs(outcomes.get(1).failure())
                .isInstanceOfSatisfying(EnvRequestException.class, e -> assertThat(e.kind()).isEqualTo("bad_config_value"));
    }

    @Test
    void shouldCreateUpToTheSessionLimitAndRefuseTheItemsBeyondIt() throws Exception {
        SessionManager three = new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 3, TTL, clock::get);
        EnvClient limited = client(serve(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofHours(1)), three,
                metrics()));
        limited.createSession("sokoban", 1, Map.of());

        List<CreateOutcome> outcomes = limited.createSessions(IntStream.range(0, 4)
                .mapToObj(i -> new CreateSessionRequest("sokoban", (long) i, Map.of())).toList());

        assertThat(outcomes).extracting(CreateOutcome::succeeded).containsExactly(true, true, false, false);
        assertThat(outcomes.get(3).failure()).isInstanceOfSatisfying(EnvRequestException.class, e -> {
            assertThat(e.status()).isEqualTo(429);
            assertThat(e.kind()).isEqualTo("too_many_sessions");
        });
        assertThat(limited.closeSessions(List.of(outcomes.get(0).created().session()))).allMatch(CloseOutcome::succeeded);
        assertThat(limited.createSessions(List.of(new CreateSessionRequest("sokoban", 9L, Map.of()))).get(0)
                .succeeded()).as("a closed one frees its place").isTrue();

        String item = "{\"env\":\"sokoban\",\"seed\":1}";
        assertError(post("/v1/sessions/batch", "{\"sessions\":[" + String.join(",", Collections.nCopies(257, item))
                + "]}"), 400, "batch_too_large", "at most 256");
        assertError(post("/v1/sessions/batch", "{\"sessions\":[]}"), 400, "malformed_request", "'sessions' is empty");
        assertError(post("/v1/sessions/close", "{}"), 400, "malformed_request", "'sessions' is required");
        assertError(post("/v1/sessions/close", "{\"sessions\":[\"a\"],\"x\":1}"), 400, "malformed_request", "x");
        assertThat(sessions.open()).as("none of the refused batches was applied").isZero();
    }

    @Test
    void shouldStopFillingACreateAnswerBeforeItsBoundAndLeaveTheRestUncreated() {
        SessionManager small = sessions(new BigStartFactory());
        EnvClient limited = client(serve(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofHours(1))
                .withMaxObservationBytes(4096), small, metrics()));

        List<CreateOutcome> outcomes = limited.createSessions(IntStream.range(0, 6)
                .mapToObj(i -> new CreateSessionRequest(BigStartFactory.NAME, (long) i, Map.of())).toList());

        assertThat(outcomes).extracting(CreateOutcome::succeeded).containsExactly(true, true, true, false, false, false);
        assertThat(outcomes.get(2).created().observation().text()).hasSize(1500);
        assertThat(outcomes.get(3).failure()).isInstanceOfSatisfying(EnvUnavailableException.class,
                e -> assertThat(e.kind()).isEqualTo("batch_answer_full"));
        assertThat(small.open()).isEqualTo(3);
    }

    /** An environment whose first observation is 1,500 characters. */
    private static final class BigStartFactory implements io.rollout.env.EnvironmentFactory {
        static final String NAME = "big-start";

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String description() {
            return "starts with a large observation";
        }

        @Override
        public Map<String, String> configDefaults() {
            return Map.of();
        }

        @Override
        public io.rollout.env.Environment create() {
            return new io.rollout.env.Environment() {
                @Override
                public String name() {
                    return NAME;
                }

                @Override
                public Observation reset(long seed, io.rollout.env.EnvConfig config) {
                    return Observation.ofState("x".repeat(1500));
                }

                @Override
                public StepResult step(String action) {
                    return new StepResult(Observation.ofState("x"), 0, false, false, true);
                }
            };
        }
    }

    private SessionManager sessions(io.rollout.env.EnvironmentFactory... factories) {
        return new SessionManager(new EnvRegistry(List.of(factories)), 300, TTL, clock::get);
    }

    private EnvServer serve(EnvServer.Options options, SessionManager manager, PrometheusMeterRegistry registry) {
        EnvServer started = EnvServer.start(options, manager, registry);
        opened.add(started);
        return started;
    }

    private EnvClient client(EnvServer target) {
        EnvClient c = EnvClient.create(target.url(), Duration.ofSeconds(2), Duration.ofSeconds(10));
        opened.add(c);
        return c;
    }

    private static PrometheusMeterRegistry metrics() {
        return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    /** The item's error body equals what {@code POST /v1/sessions/{session}/step} answers now. */
    private void assertItemLikeSingleStep(JsonNode item, String session, int status, String kind) throws Exception {
        assertItem(item, status, kind, session);
        assertThat(item.get("session").asText()).isEqualTo(session);
        HttpResponse<String> single = post("/v1/sessions/" + session + "/step", "{\"action\":\"up\"}");
        assertThat(single.statusCode()).isEqualTo(status);
        assertThat(item.get("error")).isEqualTo(JSON.readTree(single.body()));
    }

    private static void assertItem(JsonNode item, int status, String kind, String mentions) {
        assertThat(item.get("status").asInt()).as(item.toString()).isEqualTo(status);
        assertThat(item.has("result")).isFalse();
        assertThat(item.get("error").get("error").asText()).isEqualTo(kind);
        assertThat(item.get("error").get("message").asText()).contains(mentions);
    }

    private static void assertError(HttpResponse<String> response, int status, String kind, String mentions) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.body()).contains("\"error\":\"" + kind + "\"").contains(mentions);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return send(server.url(), path, body);
    }

    private static HttpResponse<String> send(String base, String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return raw.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
