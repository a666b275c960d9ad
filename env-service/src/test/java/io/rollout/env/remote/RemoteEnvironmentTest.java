package io.rollout.env.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.remote.AgentGymTestServer.Dialect;
import io.rollout.env.remote.AgentGymTestServer.Fault;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RemoteEnvironmentTest {

    private static final String TASK_0 = "You are in the middle of room 0. Looking quickly around you, you see a "
            + "shelf 1 and a table 1.\nYour task is to: take the apple.";
    private static final List<String> START_ACTIONS = List.of("go to shelf 1", "go to table 1", "look");

    private AgentGymTestServer server;
    private RemoteEnvironment env;

    @AfterEach
    void tearDown() {
        if (env != null) {
            try {
                env.close();
            } catch (RuntimeException ignored) {
                // some tests leave the server down
            }
        }
        if (server != null) {
            server.close();
        }
    }

    private RemoteEnvironment connect(Dialect dialect, String protocol, String extra) throws IOException {
        server = AgentGymTestServer.start(dialect);
        env = new RemoteEnvFactory(spec(server.url(), protocol, extra)).create();
        return env;
    }

    /** A spec with small test timeouts; {@code extra} settings replace the defaults here. */
    private static RemoteEnvSpec spec(String url, String protocol, String extra) {
        Map<String, String> settings = new LinkedHashMap<>();
        String defaults = "name=house,url=" + url + ",protocol=" + protocol
                + ",timeout=1s,connect-timeout=1s,retries=2,backoff=10ms";
        for (String item : (extra.isEmpty() ? defaults : defaults + "," + extra).split(",")) {
            settings.put(item.substring(0, item.indexOf('=')), item);
        }
        return RemoteEnvSpec.parse(String.join(",", settings.values()));
    }

    private RemoteEnvironment alfworld(String extra) throws IOException {
        return connect(Dialect.ALFWORLD, "agentgym-alfworld", extra);
    }

    // ---- the round trip ----

    @Test
    void shouldCreateResetAndStepThroughAGameToAWin() throws IOException {
        alfworld("dataset-size=20");

        Observation first = env.reset(0, EnvConfig.empty());
        assertThat(first.text()).isEqualTo(TASK_0);
        assertThat(first.anchor()).isEqualTo(TASK_0);
        assertThat(first.admissibleActions()).isEqualTo(START_ACTIONS);

        StepResult walk = env.step("go to table 1");
        assertThat(walk.observation().text()).isEqualTo("On the table 1, you see a apple.");
        assertThat(walk.observation().admissibleActions()).contains("take apple from table 1");
        assertThat(walk.reward()).isZero();
        assertThat(walk.done()).isFalse();
        assertThat(walk.won()).isFalse();
        assertThat(walk.actionValid()).isTrue();

        StepResult take = env.step("take apple from table 1");
        assertThat(take.observation().text()).isEqualTo("You pick up the apple from the table 1.");
        assertThat(take.reward()).isEqualTo(1.0);
        assertThat(take.done()).isTrue();
        assertThat(take.won()).isTrue();

        assertThat(server.count("/create")).isEqualTo(1);
        JsonNode reset = server.bodies("/reset").get(0);
        assertThat(reset.get("id").asLong()).isEqualTo(env.remoteId().getAsLong());
        assertThat(reset.get("game").asLong()).isZero();
        assertThat(reset.get("world_type").asText()).isEqualTo("Text");
        assertThat(server.bodies("/step")).extracting(b -> b.get("action").asText())
                .containsExactly("go to table 1", "take apple from table 1");
        assertThat(server.bodies("/step")).allSatisfy(b -> assertThat(b.get("id").asLong()).isZero());
    }

    @Test
    void shouldEndWithoutWinWhenDoneWithZeroReward() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());

        StepResult quit = env.step("quit");

        assertThat(quit.done()).isTrue();
        assertThat(quit.won()).isFalse();
        assertThat(quit.reward()).isZero();
    }

    @Test
    void shouldReportNothingHappensAsAnInvalidAction() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());

        StepResult result = env.step("fly to the moon");

        assertThat(result.actionValid()).isFalse();
        assertThat(result.observation().text()).isEqualTo("Nothing happens.");
        assertThat(result.done()).isFalse();
    }

    @Test
    void shouldMapSeedToGameIndexModuloDatasetSize() throws IOException {
        alfworld("dataset-size=4,index-offset=10");

        Observation obs = env.reset(7, EnvConfig.empty());

        assertThat(server.bodies("/reset").get(0).get("game").asLong()).isEqualTo(13);
        assertThat(obs.text()).contains("room 13", "take the book");
    }

    @Test
    void shouldPassSeedAsIndexWithoutDatasetSize() throws IOException {
        alfworld("");

        env.reset(5, EnvConfig.empty());

        assertThat(server.bodies("/reset").get(0).get("game").asLong()).isEqualTo(5);
    }

    @Test
    void shouldReuseTheRemoteEnvironmentOnEveryReset() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        env.step("quit");

        Observation again = env.reset(1, EnvConfig.empty());
        StepResult step = env.step("go to shelf 1");

        assertThat(again.text()).contains("room 1");
        assertThat(step.observation().text()).isEqualTo("On the shelf 1, you see a book.");
        assertThat(server.count("/create")).isEqualTo(1);
        assertThat(server.count("/reset")).isEqualTo(2);
    }

    @Test
    void shouldGiveEqualAnchorsForEqualStates() throws IOException {
        alfworld("");
        RemoteEnvironment other = new RemoteEnvFactory(spec(server.url(), "agentgym-alfworld", "")).create();
        try {
            Observation a = env.reset(3, EnvConfig.empty());
            Observation b = other.reset(3, EnvConfig.empty());
            assertThat(a.anchor()).isEqualTo(b.anchor());
            assertThat(env.step("go to shelf 1").observation().anchor())
                    .isEqualTo(other.step("go to shelf 1").observation().anchor());
            assertThat(server.count("/create")).isEqualTo(2);
        } finally {
            other.close();
        }
    }

    @Test
    void shouldAddSortedAdmissibleActionsToTheAnchorWhenConfigured() throws IOException {
        alfworld("anchor=observation+actions");
        env.reset(0, EnvConfig.empty());

        StepResult result = env.step("look");

        assertThat(result.observation().text()).isEqualTo("You are facing the middle.");
        assertThat(result.observation().anchor())
                .isEqualTo("You are facing the middle.\n[admissible] go to shelf 1 | go to table 1 | look");
    }

    // ---- refused locally ----

    @Test
    void shouldRefuseStepBeforeResetWithoutARequest() throws IOException {
        alfworld("");

        assertInputError(() -> env.step("look"), Kind.NOT_STARTED);
        assertThat(server.count("/step")).isZero();
        assertThat(server.count("/create")).isZero();
    }

    @Test
    void shouldRefuseStepAfterDoneWithoutARequest() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        env.step("quit");

        assertInputError(() -> env.step("look"), Kind.EPISODE_DONE);
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldRejectUnknownConfigKeyAndBadSeedWithoutARequest() throws IOException {
        alfworld("");

        assertInputError(() -> env.reset(0, EnvConfig.of(Map.of("world_type", "Embody"))), Kind.UNKNOWN_CONFIG_KEY);
        assertInputError(() -> env.reset(-1, EnvConfig.empty()), Kind.SEED_OUT_OF_RANGE);
        assertThat(server.count("/create")).isZero();
    }

    // ---- failures of the server ----

    @Test
    void shouldFailStepOnHttp500WithoutRetryingIt() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.HTTP_500);

        assertInfraError(() -> env.step("look"), "POST /step", "HTTP 500", "1 attempt");
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldFailStepOnMalformedJsonWithoutRetryingIt() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.MALFORMED_JSON);

        assertInfraError(() -> env.step("look"), "POST /step", "malformed JSON");
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldFailStepOnAnAnswerOfTheWrongShape() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.WRONG_SHAPE);

        assertInfraError(() -> env.step("look"), "POST /step", "no string 'observation'");
    }

    @Test
    void shouldFailStepOnTheServersErrorPayload() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.ERROR_PAYLOAD);

        assertInfraError(() -> env.step("look"), "POST /step", "the server reported an error: CUDA out of memory");
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldTimeOutASlowStepWithoutRetryingIt() throws IOException {
        // Generous margins: a loaded CI machine must not turn a normal call into a timeout.
        alfworld("timeout=1s");
        env.reset(0, EnvConfig.empty());
        server.slowMillis(4_000).failNext("/step", Fault.SLOW);

        long start = System.nanoTime();
        assertInfraError(() -> env.step("look"), "POST /step", "no answer within 1s");
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(3_500);
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldHoldTheTimeoutAgainstAnAnswerThatDripsAByteAtATime() throws IOException {
        alfworld("timeout=1s");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.DRIP);

        assertTimeoutPreemptively(Duration.ofSeconds(10),
                () -> assertInfraError(() -> env.step("look"), "POST /step", "no answer within 1s"));
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldRefuseAnAnswerLargerThanTheBoundWithoutRetryingIt() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.HUGE);
        assertInfraError(() -> env.step("look"), "POST /step",
                "exceeds the limit of 1048576 bytes (max-answer-bytes)");
        assertThat(server.count("/step")).isEqualTo(1);
    }

    @Test
    void shouldTakeTheAnswerBoundFromTheSpec() throws IOException {
        alfworld("max-answer-bytes=4096");
        assertThat(env.reset(1, EnvConfig.empty()).text()).contains("room 1");
        server.failNext("/reset", Fault.HUGE);
        assertInfraError(() -> env.reset(1, EnvConfig.empty()), "POST /reset", "the limit of 4096 bytes");
        assertThat(server.count("/reset")).as("the same answer would come again: not retried").isEqualTo(2);
    }

    @Test
    void shouldRefuseACertificateForAnotherHost(@TempDir Path dir) throws Exception {
        TestCertificates.Pair wrong = TestCertificates.create(dir, "wrong.example", "dns:wrong.example");
        TestCertificates.Pair right = TestCertificates.create(dir, "localhost", "dns:localhost,ip:127.0.0.1");
        try (AgentGymTestServer wrongServer = AgentGymTestServer.startTls(Dialect.ALFWORLD, wrong.server());
                AgentGymTestServer rightServer = AgentGymTestServer.startTls(Dialect.ALFWORLD, right.server())) {
            // The client trusts the wrong certificate: only the host name check can refuse it.
            // Time enough for a first TLS handshake on a loaded machine.
            RemoteEnvSpec toWrong = spec(wrongServer.url(), "agentgym-alfworld", "retries=0,timeout=20s,connect-timeout=20s");
            RemoteEnvironment refused = new RemoteEnvFactory(toWrong,
                    RemoteHttp.newClient(toWrong, wrong.client())).create();
            assertThatThrownBy(() -> refused.reset(0, EnvConfig.empty())).isInstanceOf(EnvInfrastructureException.class)
                    .hasMessageContainingAll(wrongServer.url(), "POST /create",
                            "No subject alternative DNS name matching localhost");
            assertThat(wrongServer.count("/create")).isZero();

            RemoteEnvSpec toRight = spec(rightServer.url(), "agentgym-alfworld", "timeout=20s,connect-timeout=20s");
            RemoteEnvironment accepted = new RemoteEnvFactory(toRight,
                    RemoteHttp.newClient(toRight, right.client())).create();
            assertThat(accepted.reset(0, EnvConfig.empty()).text()).contains("room 0");
            accepted.close();
        }
    }

    @Test
    void shouldRefuseFurtherStepsAfterAFailedStepUntilReset() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        server.failNext("/step", Fault.HTTP_500);
        assertThatThrownBy(() -> env.step("look")).isInstanceOf(EnvInfrastructureException.class);

        assertInfraError(() -> env.step("look"), "an earlier step failed");
        assertThat(server.count("/step")).isEqualTo(1);

        env.reset(0, EnvConfig.empty());
        assertThat(env.step("look").observation().text()).isEqualTo("You are facing the middle.");
    }

    @Test
    void shouldRetryResetAfterServerErrorMalformedAnswerAndTimeout() throws IOException {
        alfworld("retries=3,timeout=1s");
        server.slowMillis(2_500)
                .failNext("/reset", Fault.HTTP_500)
                .failNext("/reset", Fault.MALFORMED_JSON)
                .failNext("/reset", Fault.SLOW);

        Observation obs = env.reset(0, EnvConfig.empty());

        assertThat(obs.text()).isEqualTo(TASK_0);
        assertThat(server.count("/reset")).isEqualTo(4);
        assertThat(server.count("/create")).isEqualTo(1);
    }

    @Test
    void shouldGiveUpOnResetWhenRetriesAreExhausted() throws IOException {
        alfworld("retries=2");
        server.failNext("/reset", Fault.ERROR_PAYLOAD).failNext("/reset", Fault.HTTP_500)
                .failNext("/reset", Fault.HTTP_500);

        assertInfraError(() -> env.reset(0, EnvConfig.empty()), "POST /reset", "HTTP 500", "3 attempts");
        assertThat(server.count("/reset")).isEqualTo(3);
        assertInputError(() -> env.step("look"), Kind.NOT_STARTED);
    }

    @Test
    void shouldNotRetryCreateThatReachedTheServer() throws IOException {
        alfworld("");
        server.failNext("/create", Fault.HTTP_500);

        assertInfraError(() -> env.reset(0, EnvConfig.empty()), "POST /create", "HTTP 500", "1 attempt");
        assertThat(server.count("/create")).isEqualTo(1);
    }

    @Test
    void shouldRetryEveryCallOn503BecauseTheRequestWasNotProcessed() throws IOException {
        alfworld("");
        server.failNext("/create", Fault.HTTP_503).failNext("/step", Fault.HTTP_503);

        env.reset(0, EnvConfig.empty());
        StepResult result = env.step("look");

        assertThat(result.observation().text()).isEqualTo("You are facing the middle.");
        assertThat(server.count("/create")).isEqualTo(2);
        assertThat(server.count("/step")).isEqualTo(2);
    }

    @Test
    void shouldFailWithTheUrlWhenTheServerIsDown() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        String url = "http://127.0.0.1:" + port;
        env = new RemoteEnvFactory(spec(url, "agentgym-alfworld", "")).create();

        assertThatThrownBy(() -> env.reset(0, EnvConfig.empty()))
                .isInstanceOf(EnvInfrastructureException.class)
                .hasMessageContaining(url)
                .hasMessageContaining("POST /create")
                .hasMessageContaining("cannot connect")
                .hasMessageContaining("3 attempts");
    }

    @Test
    void shouldRetryAStepWhoseConnectionWasRefusedUpToTheLimit() throws IOException {
        alfworld("retries=2");
        server.closeConnections(true);
        env.reset(0, EnvConfig.empty());
        server.stop();

        assertInfraError(() -> env.step("look"), "POST /step", "cannot connect", "3 attempts");
        assertThat(server.count("/step")).isZero();
    }

    @Test
    void shouldRecoverWhenARefusedStepIsRetriedAfterTheServerIsBack() throws Exception {
        alfworld("retries=3,backoff=300ms");
        server.closeConnections(true);
        env.reset(0, EnvConfig.empty());
        server.stop();

        CompletableFuture<Void> restarted = CompletableFuture.runAsync(() -> {
            try {
                Thread.sleep(50);
                server.restart();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        StepResult result = env.step("go to table 1");
        restarted.get();

        assertThat(result.observation().text()).isEqualTo("On the table 1, you see a apple.");
        assertThat(server.count("/step")).isEqualTo(1);
    }

    // ---- close ----

    @Test
    void shouldCloseTheRemoteEnvironmentOnce() throws IOException {
        alfworld("");
        env.reset(0, EnvConfig.empty());
        long id = env.remoteId().getAsLong();

        env.close();
        env.close();

        assertThat(server.count("/close")).isEqualTo(1);
        assertThat(server.bodies("/close").get(0).get("id").asLong()).isEqualTo(id);
        assertThat(server.liveEnvs()).isZero();
        assertThatThrownBy(() -> env.reset(0, EnvConfig.empty())).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void shouldAcceptAServerWithoutACloseRoute() throws IOException {
        alfworld("");
        server.closeRoute(false);
        env.reset(0, EnvConfig.empty());

        env.close();

        assertThat(server.count("/close")).isEqualTo(1);
    }

    @Test
    void shouldNotPostCloseWhenDisabledOrNeverCreated() throws IOException {
        alfworld("close=false");
        env.reset(0, EnvConfig.empty());
        env.close();
        RemoteEnvironment unused = new RemoteEnvFactory(spec(server.url(), "agentgym-alfworld", "")).create();
        unused.close();

        assertThat(server.count("/close")).isZero();
    }

    @Test
    void shouldFailCloseOnServerErrorAfterRetries() throws IOException {
        alfworld("retries=1");
        env.reset(0, EnvConfig.empty());
        server.failNext("/close", Fault.HTTP_500).failNext("/close", Fault.HTTP_500);

        assertInfraError(() -> env.close(), "POST /close", "HTTP 500", "2 attempts");
        env.close();
        assertThat(server.count("/close")).isEqualTo(2);
    }

    // ---- other dialects ----

    @Test
    void shouldSpeakTheWebshopDialect() throws IOException {
        connect(Dialect.WEBSHOP, "agentgym-webshop", "dataset-size=20");

        Observation first = env.reset(21, EnvConfig.empty());
        assertThat(first.text()).contains("room 1", "take the book");
        assertThat(first.admissibleActions())
                .containsExactly("click[go to shelf 1]", "click[go to table 1]", "click[look]");
        assertThat(env.remoteId().getAsLong()).isEqualTo(48_000_000L);
        JsonNode reset = server.bodies("/reset").get(0);
        assertThat(reset.get("env_idx").asLong()).isEqualTo(48_000_000L);
        assertThat(reset.get("session_id").asLong()).isEqualTo(1);

        StepResult walk = env.step("click[go to shelf 1]");
        assertThat(walk.observation().text()).isEqualTo("On the shelf 1, you see a book.");
        assertThat(walk.observation().admissibleActions()).contains("click[take book from shelf 1]");
        assertThat(server.queries("/available_actions")).containsOnly("env_idx=48000000");

        StepResult partial = env.step("click[settle]");
        assertThat(partial.done()).isTrue();
        assertThat(partial.reward()).isEqualTo(0.5);
        assertThat(partial.won()).as("WebShop wins only with the full score").isFalse();
        assertThat(partial.observation().admissibleActions()).isEmpty();
        assertThat(server.count("/available_actions")).isEqualTo(2);

        env.reset(21, EnvConfig.empty());
        env.step("click[go to shelf 1]");
        StepResult full = env.step("click[take book from shelf 1]");
        assertThat(full.observation().text()).isEqualTo("You pick up the book from the shelf 1.");
        assertThat(full.won()).isTrue();

        env.close();
        assertThat(server.bodies("/close").get(0).get("env_idx").asLong()).isEqualTo(48_000_000L);
    }

    @Test
    void shouldFetchTheObservationWhenTheResetAnswerHasNone() throws IOException {
        connect(Dialect.GENERIC, "agentgym", "");
        server.resetWithoutObservation(true);

        Observation obs = env.reset(2, EnvConfig.empty());

        assertThat(obs.text()).contains("room 2", "take the cup");
        assertThat(obs.admissibleActions()).isEmpty();
        assertThat(server.bodies("/reset").get(0).get("data_idx").asLong()).isEqualTo(2);
        assertThat(server.queries("/observation")).containsExactly("id=0");
    }

    @Test
    void shouldPreferTheServersOwnWonField() throws IOException {
        connect(Dialect.GENERIC, "agentgym", "");
        env.reset(0, EnvConfig.empty());

        StepResult result = env.step("settle");

        assertThat(result.reward()).isEqualTo(0.5);
        assertThat(result.done()).isTrue();
        assertThat(result.won()).as("the server says won=false although the reward is positive").isFalse();
    }

    @Test
    void shouldDescribeItselfAsAFactory() throws IOException {
        server = AgentGymTestServer.start(Dialect.ALFWORLD);
        RemoteEnvFactory factory = RemoteEnvFactory.fromSpec(
                "name=alfworld,url=" + server.url() + ",protocol=agentgym-alfworld");

        assertThat(factory.name()).isEqualTo("alfworld");
        assertThat(factory.description()).contains(server.url(), "agentgym-alfworld");
        assertThat(factory.configDefaults()).isEmpty();
        try (RemoteEnvironment a = factory.create(); RemoteEnvironment b = factory.create()) {
            a.reset(0, EnvConfig.empty());
            b.reset(0, EnvConfig.empty());
            assertThat(a.name()).isEqualTo("alfworld");
            assertThat(a.remoteId()).isNotEqualTo(b.remoteId());
        }
        assertThat(server.count("/close")).isEqualTo(2);
    }

    private void assertInfraError(ThrowingCallable call, String... fragments) {
        assertThatThrownBy(call)
                .isInstanceOf(EnvInfrastructureException.class)
                .hasMessageContaining(server.url())
                .hasMessageContainingAll(fragments);
    }

    private static void assertInputError(ThrowingCallable call, Kind kind) {
        assertThatThrownBy(call).isInstanceOf(EnvInputException.class)
                .extracting(e -> ((EnvInputException) e).kind()).isEqualTo(kind);
    }
}
