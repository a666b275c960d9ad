package io.rollout.learner.advantage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.runtime.metrics.MetricsHttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class AdvantageMetricsHttpTest {

    @Test
    void shouldServeTheAdvantageMetricsAndHealthOverHttp() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new AdvantageMetrics(registry);
        AtomicBoolean healthy = new AtomicBoolean(true);
        try (MetricsHttpServer server = MetricsHttpServer.start("127.0.0.1", 0, registry, healthy::get)) {
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains(
                    "rollout_advantage_steps_in_total{outcome=\"accepted\"}",
                    "rollout_advantage_steps_in_total{outcome=\"dead_lettered\"}",
                    "rollout_advantage_groups_completed_total",
                    "rollout_advantage_samples_out_total",
                    "rollout_advantage_group_completion_latency_seconds_bucket",
                    "rollout_advantage_groups_open",
                    "rollout_advantage_store_steps",
                    "rollout_advantage_anchor_singleton_fraction",
                    "rollout_advantage_anchor_group_size_steps_count");
            URI health = URI.create(server.url() + "/health");
            assertThat(http.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
            healthy.set(false);
            HttpResponse<String> down = http.send(HttpRequest.newBuilder(health).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(down.statusCode()).isEqualTo(503);
            assertThat(down.body()).contains("DOWN");
        }
    }
}
