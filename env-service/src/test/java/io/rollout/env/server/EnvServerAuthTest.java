package io.rollout.env.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.LogCapture;
import io.rollout.env.api.BearerToken;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.sokoban.SokobanFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bearer-token authentication on a real server on a loopback port, through raw HTTP and the Java client. */
class EnvServerAuthTest {

    private static final String TOKEN = "7f3a9c0e5b1d4f2a8c6e0b9d3f5a1c7e";
    private static final String WRONG = "7f3a9c0e5b1d4f2a8c6e0b9d3f5a1c7f";

    private static final HttpClient raw = HttpClient.newHttpClient();
    private static LogCapture log;
    private static PrometheusMeterRegistry registry;
    private static EnvServer server;

    @BeforeAll
    static void start() {
        log = LogCapture.start();
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        SessionManager sessions = new SessionManager(new EnvRegistry(List.of(new SokobanFactory(), new HouseholdFactory())),
                20, Duration.ofMinutes(5), System::nanoTime);
        server = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1))
                .withAuthToken(BearerToken.of(TOKEN)), sessions, registry);
    }

    @AfterAll
    static void stop() {
        server.close();
        log.close();
    }

    @Test
    void shouldAnswer401WithoutTheRightBearerToken() throws Exception {
        String create = "{\"env\":\"sokoban\",\"seed\":1}";
        for (String authorization : new String[] {null, "Bearer " + WRONG, "Bearer", "Basic " + TOKEN, TOKEN,
            "Bearer " + TOKEN + "x", "Bearer " + TOKEN.substring(1)}) {
            HttpResponse<String> answer = send("POST", "/v1/sessions", create, authorization);

            assertThat(answer.statusCode()).as("Authorization: %s", authorization).isEqualTo(401);
            assertThat(answer.body()).contains("\"error\":\"unauthorized\"").contains("Authorization: Bearer");
            assertThat(answer.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"env-service\"");
        }
        assertThat(send("GET", "/v1/envs", null, null).statusCode()).isEqualTo(401);
        assertThat(send("GET", "/v1/no-such-route", null, null).statusCode()).isEqualTo(401);
        assertThat(send("POST", "/v1/sessions", create, "bearer " + TOKEN).statusCode())
                .as("the scheme name is case-insensitive").isEqualTo(201);
        assertThat(scrape()).contains("env_errors_total{kind=\"unauthorized\"}");
    }

    @Test
    void shouldKeepHealthAndReadyOpenForProbesAndAskTheTokenForMetrics() throws Exception {
        assertThat(send("GET", "/health", null, null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/ready", null, null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/metrics", null, null).statusCode()).isEqualTo(401);
        assertThat(send("GET", "/metrics", null, "Bearer " + TOKEN).statusCode()).isEqualTo(200);
    }

    @Test
    void shouldServeTheClientThatSendsTheToken(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, TOKEN + "\n");
        try (EnvClient client = EnvClient.builder(server.url()).authTokenFile(file).build();
                EnvClient anonymous = EnvClient.create(server.url(), Duration.ofSeconds(2), Duration.ofSeconds(5));
                EnvClient wrong = EnvClient.builder(server.url()).authToken(WRONG).build()) {
            SessionCreated session = client.createSession("household", 3, Map.of());
            assertThat(client.step(session.session(), "look").actionValid()).isTrue();
            client.closeSession(session.session());

            for (EnvClient refused : List.of(anonymous, wrong)) {
                assertThatThrownBy(() -> refused.createSession("sokoban", 1, Map.of()))
                        .isInstanceOfSatisfying(EnvRequestException.class, e -> {
                            assertThat(e.status()).isEqualTo(401);
                            assertThat(e.kind()).isEqualTo("unauthorized");
                        });
            }
        }
    }

    @Test
    void shouldNeverLogTheTokenOrAGuess() throws Exception {
        send("POST", "/v1/sessions", "{\"env\":\"sokoban\",\"seed\":1}", "Bearer " + WRONG);
        send("GET", "/v1/envs", null, "Bearer " + TOKEN);

        assertThat(log.text()).contains("refused POST /v1/sessions from 127.0.0.1: wrong bearer token")
                .doesNotContain(TOKEN).doesNotContain(WRONG);
        assertThat(BearerToken.of(TOKEN).toString()).doesNotContain(TOKEN);
        assertThat(new EnvServer.Options("127.0.0.1", 0, 4096, Duration.ofHours(1))
                .withAuthToken(BearerToken.of(TOKEN)).toString()).doesNotContain(TOKEN);
    }

    @Test
    void shouldRefuseToServeANonLoopbackAddressWithoutAToken() {
        SessionManager sessions = new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 1,
                Duration.ofMinutes(1), System::nanoTime);
        assertThatThrownBy(() -> EnvServer.start(new EnvServer.Options("0.0.0.0", 0, 4096, Duration.ofHours(1)),
                sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("host 0.0.0.0 is not a loopback address")
                .hasMessageContaining("--auth-token-file");

        EnvServer.Options open = new EnvServer.Options("0.0.0.0", 0, 4096, Duration.ofHours(1));
        open.withInsecureNoAuth(true).requireAuthUnlessLoopback();
        open.withAuthToken(BearerToken.of(TOKEN)).requireAuthUnlessLoopback();
        new EnvServer.Options("localhost", 0, 4096, Duration.ofHours(1)).requireAuthUnlessLoopback();
        new EnvServer.Options("::1", 0, 4096, Duration.ofHours(1)).requireAuthUnlessLoopback();
    }

    @Test
    void shouldRefuseAShortOrUnprintableToken(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> BearerToken.of("short")).hasMessageContaining("16 to 4096").hasMessageNotContaining("short");
        assertThatThrownBy(() -> BearerToken.of(TOKEN + " " + TOKEN)).hasMessageContaining("visible ASCII")
                .hasMessageNotContaining(TOKEN);
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        assertThatThrownBy(() -> BearerToken.fromFile(empty)).hasMessageContaining(empty.toString());
        assertThatThrownBy(() -> BearerToken.fromFile(dir.resolve("missing"))).hasMessageContaining("missing");
    }

    private static String scrape() {
        return registry.scrape();
    }

    private static HttpResponse<String> send(String method, String path, String body, String authorization)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.url() + path))
                .timeout(Duration.ofSeconds(5))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return raw.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
