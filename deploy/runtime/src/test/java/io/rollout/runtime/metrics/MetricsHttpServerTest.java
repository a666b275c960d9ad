package io.rollout.runtime.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/** The metrics server on the real JDK HTTP server, with and without a bearer token. */
class MetricsHttpServerTest {

    private static final String TOKEN = "s3cr3t-metrics-token-0123456789";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static PrometheusMeterRegistry registry() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.counter("rollout.test.requests").increment();
        return registry;
    }

    private static HttpResponse<String> get(String url, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET();
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void shouldAnswer401WithoutTheRightTokenAnd200WithIt() throws Exception {
        try (MetricsHttpServer server = MetricsHttpServer.start("127.0.0.1", 0, registry(), () -> true,
                MetricsAuth.bearer(TOKEN))) {
            String metrics = server.url() + "/metrics";

            HttpResponse<String> none = get(metrics, null);
            HttpResponse<String> wrong = get(metrics, "Bearer not-the-token");
            HttpResponse<String> prefix = get(metrics, "Bearer " + TOKEN.substring(0, 10));
            HttpResponse<String> basic = get(metrics, "Basic " + TOKEN);
            HttpResponse<String> right = get(metrics, "Bearer " + TOKEN);
            HttpResponse<String> lowercase = get(metrics, "bearer " + TOKEN);

            for (HttpResponse<String> refused : java.util.List.of(none, wrong, prefix, basic)) {
                assertThat(refused.statusCode()).isEqualTo(401);
                assertThat(refused.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"metrics\"");
                assertThat(refused.body()).doesNotContain("rollout_test_requests");
            }
            assertThat(right.statusCode()).isEqualTo(200);
            assertThat(right.body()).contains("rollout_test_requests_total 1.0");
            assertThat(lowercase.statusCode()).isEqualTo(200);
        }
    }

    /** Without a readiness check of its own, {@code /ready} answers as {@code /health}. */
    @ParameterizedTest
    @ValueSource(strings = {"/health", "/ready"})
    void shouldKeepProbesOpenWhenMetricsNeedATokenAndAnswerHealth(String probe) throws Exception {
        boolean[] healthy = {true};
        try (MetricsHttpServer server = MetricsHttpServer.start("127.0.0.1", 0, registry(), () -> healthy[0],
                MetricsAuth.bearer(TOKEN))) {
            HttpResponse<String> up = get(server.url() + probe, null);
            healthy[0] = false;
            HttpResponse<String> down = get(server.url() + probe, null);

            assertThat(up.statusCode()).isEqualTo(200);
            assertThat(up.body()).contains("UP");
            assertThat(down.statusCode()).isEqualTo(503);
        }
    }

    @Test
    void shouldAnswerReadyFromTheReadinessSupplierIndependentlyOfHealth() throws Exception {
        boolean[] ready = {false};
        try (MetricsHttpServer server = MetricsHttpServer.start("127.0.0.1", 0, registry(), () -> true,
                () -> ready[0], MetricsAuth.bearer(TOKEN))) {
            HttpResponse<String> starting = get(server.url() + "/ready", null);
            HttpResponse<String> alive = get(server.url() + "/health", null);
            ready[0] = true;
            HttpResponse<String> serving = get(server.url() + "/ready", null);

            assertThat(starting.statusCode()).isEqualTo(503);
            assertThat(starting.body()).contains("DOWN");
            assertThat(alive.statusCode()).isEqualTo(200);
            assertThat(serving.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void shouldServeLoopbackWithoutATokenAsBefore() throws Exception {
        try (MetricsHttpServer server = MetricsHttpServer.start("127.0.0.1", 0, registry(), () -> true)) {
            assertThat(get(server.url() + "/metrics", null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void shouldRefuseANonLoopbackAddressWithoutATokenUnlessInsecureIsExplicit() throws Exception {
        assertThatThrownBy(() -> MetricsHttpServer.start("0.0.0.0", 0, registry(), () -> true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("refusing to serve /metrics on 0.0.0.0 without a token")
                .hasMessageContaining("--metrics-auth-token-file").hasMessageContaining("--metrics-insecure");
        assertThatThrownBy(() -> MetricsHttpServer.start("0.0.0.0", 0, registry(), () -> true, MetricsAuth.none()))
                .isInstanceOf(IllegalArgumentException.class);

        try (MetricsHttpServer withToken = MetricsHttpServer.start("0.0.0.0", 0, registry(), () -> true,
                MetricsAuth.bearer(TOKEN));
                MetricsHttpServer insecure = MetricsHttpServer.start("0.0.0.0", 0, registry(), () -> true,
                        MetricsAuth.insecure())) {
            String port = withToken.url().substring(withToken.url().lastIndexOf(':') + 1);
            assertThat(get("http://127.0.0.1:" + port + "/metrics", null).statusCode()).isEqualTo(401);
            String insecurePort = insecure.url().substring(insecure.url().lastIndexOf(':') + 1);
            assertThat(get("http://127.0.0.1:" + insecurePort + "/metrics", null).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void shouldRejectATokenAnHttpHeaderCannotCarry() {
        assertThatThrownBy(() -> MetricsAuth.bearer("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> MetricsAuth.bearer("two words")).hasMessageContaining("without spaces")
                .hasMessageNotContaining("two words");
        assertThat(MetricsAuth.bearer(TOKEN).toString()).doesNotContain(TOKEN);
    }

    /** A command with the shared flags, as the services declare them. */
    @CommandLine.Command(name = "svc")
    static final class Service {
        @CommandLine.Mixin
        MetricsAuthOptions metrics = new MetricsAuthOptions();
    }

    @Test
    void shouldReadTheTokenFromTheFileTheFlagNames(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        Service withFile = new Service();
        new CommandLine(withFile).parseArgs("--metrics-auth-token-file", file.toString());
        Service insecure = new Service();
        new CommandLine(insecure).parseArgs("--metrics-insecure");
        Service neither = new Service();
        new CommandLine(neither).parseArgs();

        MetricsAuth auth = withFile.metrics.auth();
        assertThat(auth.requiresToken()).isTrue();
        assertThat(auth.permits("Bearer " + TOKEN)).isTrue();
        assertThat(auth.permits("Bearer " + TOKEN + "x")).isFalse();
        assertThat(insecure.metrics.auth()).isSameAs(MetricsAuth.insecure());
        assertThat(neither.metrics.auth()).isSameAs(MetricsAuth.none());
    }

    @Test
    void shouldNameAnEmptyOrMissingTokenFileWithoutItsContent(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        Path missing = dir.resolve("missing");

        assertThatThrownBy(() -> MetricsAuthOptions.readToken(empty)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(empty.toString()).hasMessageContaining("empty");
        assertThatThrownBy(() -> MetricsAuthOptions.readToken(missing)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot read " + missing);
    }
}
