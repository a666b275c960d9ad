package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.broker.SharedKafkaBroker;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner services' metrics flags, each service run as a process the way an operator runs
 * it: no token on a non-loopback address stops the service at start; a token from
 * {@code --metrics-auth-token-file} guards {@code /metrics} and leaves {@code /health} open.
 */
class LearnerMetricsAuthTest {

    private static final String TOKEN = "0123456789abcdef-learner-metrics-token";

    @TempDir
    Path dir;

    @Test
    void shouldNotServeMetricsBeyondLoopbackWithoutATokenOrAnExplicitInsecureFlag() throws Exception {
        Path model = dir.resolve("model");
        TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), 3);
        for (List<String> args : List.of(
                List.of("learner-service", "advantage-stream", "--bootstrap", "127.0.0.1:9", "--state-dir",
                        dir.resolve("state").toString(), "--metrics-host", "0.0.0.0", "--metrics-port", "0"),
                List.of("learner-service", "train", "--bootstrap", "127.0.0.1:9", "--model", model.toString(),
                        "--checkpoint-dir", dir.resolve("ckpt").toString(), "--metrics-host", "0.0.0.0",
                        "--metrics-port", "0"))) {
            try (RolloutProcess service = RolloutProcess.start(dir, args.get(1), "512m", args)) {
                int exit = service.waitFor(Duration.ofSeconds(90));

                assertThat(exit).as("%s exit; stderr:\n%s", args.get(1), service.stderr()).isNotZero();
                assertThat(service.stderr()).contains("refusing to serve /metrics on 0.0.0.0 without a token");
                assertThat(service.stdout()).doesNotContain("metrics=");
            }
        }
    }

    @Test
    void shouldAskForTheTokenOnMetricsAndLeaveHealthOpen() throws Exception {
        Path tokenFile = Files.writeString(dir.resolve("metrics.token"), TOKEN + "\n");
        List<String> args = List.of("learner-service", "advantage-stream", "--bootstrap",
                SharedKafkaBroker.bootstrapServers(), "--prefix", "metrics-auth.", "--application-id", "metrics-auth",
                "--state-dir", dir.resolve("state").toString(), "--metrics-host", "0.0.0.0", "--metrics-port", "0",
                "--metrics-auth-token-file", tokenFile.toString());
        try (RolloutProcess service = RolloutProcess.start(dir, "advantage", "384m", args)) {
            String url = service.awaitLine("metrics=", Duration.ofSeconds(90));
            String local = "http://127.0.0.1:" + url.substring(url.lastIndexOf(':') + 1);
            HttpClient http = HttpClient.newHttpClient();

            HttpResponse<String> without = http.send(HttpRequest.newBuilder(URI.create(local + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> with = http.send(HttpRequest.newBuilder(URI.create(local + "/metrics"))
                    .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create(local + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(without.statusCode()).isEqualTo(401);
            assertThat(with.statusCode()).isEqualTo(200);
            assertThat(with.body()).contains("jvm_memory_used_bytes");
            assertThat(health.body()).contains("\"status\"");
            assertThat(service.commandLine()).doesNotContain(TOKEN);
        }
    }
}
