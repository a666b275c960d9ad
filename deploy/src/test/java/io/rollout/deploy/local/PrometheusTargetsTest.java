package io.rollout.deploy.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrometheusTargetsTest {

    @TempDir
    Path dir;

    @Test
    void shouldLabelEachEndpointWithItsKindOfService() throws Exception {
        Map<String, String> urls = new LinkedHashMap<>();
        urls.put("env-service", "http://127.0.0.1:8080/metrics");
        urls.put("actor-0", "http://127.0.0.1:41001/metrics");
        urls.put("actor-12", "http://127.0.0.1:41002/metrics");
        urls.put("trainer", "http://10.0.0.5:9405/custom/metrics");
        Path file = dir.resolve("targets/local.json");

        PrometheusTargets.write(file, urls);

        JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertThat(json).hasSize(4);
        assertThat(json.get(1).get("targets").get(0).asText()).isEqualTo("127.0.0.1:41001");
        assertThat(json.get(1).get("labels").get("job").asText()).isEqualTo("actor");
        assertThat(json.get(2).get("labels").get("service").asText()).isEqualTo("actor");
        assertThat(json.get(0).get("labels").get("job").asText()).isEqualTo("env-service");
        assertThat(json.get(0).get("labels").has("__metrics_path__")).isFalse();
        assertThat(json.get(3).get("labels").get("__metrics_path__").asText()).isEqualTo("/custom/metrics");
        try (var files = Files.list(file.getParent())) {
            assertThat(files).as("no temporary file left beside it").containsExactly(file);
        }

        PrometheusTargets.write(file, Map.of());
        assertThat(new ObjectMapper().readTree(file.toFile())).isEmpty();
    }
}
