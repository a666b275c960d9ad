package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.broker.SharedKafkaBroker;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rollout local} end to end on the shared embedded broker, with the tiny model and no
 * stub in the loop: tasks, actors, env-service, the advantage stream, the trainer, weights back
 * to the actors, evaluation and the report.
 */
class LocalRunTest {

    @TempDir
    Path report;

    @Test
    void shouldTrainAFewVersionsAndReportThem() throws Exception {
        Cli run = Cli.run("local", "--bootstrap", SharedKafkaBroker.bootstrapServers(), "--prefix", "e2e.",
                        "--versions", "3", "--minutes", "5", "--eval-levels", "8", "--group-size", "4",
                        "--batch-groups", "2", "--actors", "2", "--groups-in-flight", "1", "--max-steps", "8",
                        "--progress-every", "2s", "--report", report.toString());
        assertThat(run.exitCode()).as("exit code; stderr:\n%s\nstdout:\n%s", run.err(), run.out()).isZero();
        assertThat(run.out()).contains("metrics trainer http://", "metrics actor-0 http://",
                "metrics actor-1 http://", "metrics advantage http://", "metrics env-service http://",
                "stopping: reached 3 versions", "eval before training", "eval after training (version ");
        assertThat(run.out()).containsPattern("t=\\d+s version=\\d+ groups/s=[0-9.]+ steps/s=\\d+ success=");

        JsonNode r = new ObjectMapper().readTree(report.resolve("report.json").toFile());
        assertThat(r.path("config").path("group_size").asInt()).isEqualTo(4);
        List<JsonNode> versions = new ArrayList<>();
        r.path("versions").forEach(versions::add);
        // The trainer made versions 1..3 from samples: advantages were computed.
        for (int v = 1; v <= 3; v++) {
            int version = v;
            JsonNode entry = versions.stream().filter(n -> n.path("version").asLong() == version).findFirst()
                    .orElseThrow(() -> new AssertionError("no entry for version " + version + " in " + r));
            assertThat(entry.path("samples").asInt()).as("samples of version %d", v).isPositive();
            assertThat(entry.path("loss").isNumber()).as("loss of version %d", v).isTrue();
        }
        // Actors swapped to a trained adapter and generated steps with it.
        long stepsWithTrained = versions.stream().filter(n -> n.path("version").asLong() >= 1)
                .mapToLong(n -> n.path("steps").asLong()).sum();
        assertThat(stepsWithTrained).isPositive();
        JsonNode v0 = versions.get(0);
        assertThat(v0.path("version").asLong()).isZero();
        assertThat(v0.path("steps").asLong()).isPositive();
        assertThat(v0.path("success_rate").isNumber()).isTrue();
        assertThat(v0.path("mean_return").isNumber()).isTrue();

        assertThat(r.path("eval").path("episodes").asInt()).isEqualTo(8);
        assertThat(r.path("eval").path("initial").path("version").asLong()).isZero();
        assertThat(r.path("eval").path("final").path("version").asLong()).isGreaterThanOrEqualTo(3);
        assertThat(r.path("eval").path("initial").path("success_rate").asDouble()).isBetween(0.0, 1.0);
        assertThat(r.path("eval").path("final").path("success_rate").asDouble()).isBetween(0.0, 1.0);
        assertThat(r.path("eval").path("random_moves").path("episodes").asInt()).isEqualTo(8);
        assertThat(r.path("throughput").path("steps_per_s").asDouble()).isPositive();
        assertThat(r.path("wall_s").asDouble()).isPositive();
        for (String chart : List.of("success.png", "return.png", "throughput.png", "staleness.png")) {
            BufferedImage image = ImageIO.read(report.resolve(chart).toFile());
            assertThat(image).as(chart).isNotNull();
            assertThat(image.getWidth()).isEqualTo(800);
        }
    }
}
