package io.rollout.deploy.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's metrics endpoints as Prometheus file-based discovery targets ({@code file_sd_configs}):
 * one entry per endpoint with the labels the shipped alert rules and dashboard use, {@code job}
 * and {@code service} the kind of service (an actor named actor-0 is of kind actor) and
 * {@code instance} its host:port. deploy/monitoring/prometheus/prometheus-file-sd.yml reads such
 * files.
 */
public final class PrometheusTargets {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private PrometheusTargets() {}

    /** The kind of a service named in {@link LocalPipeline#urls()}: actor-3 is an actor. */
    static String kind(String name) {
        return name.matches("actor-\\d+") ? "actor" : name;
    }

    /** The file's content for these endpoints (name to http://host:port/path). */
    static List<Map<String, Object>> entries(Map<String, String> urls) {
        List<Map<String, Object>> entries = new ArrayList<>();
        urls.forEach((name, url) -> {
            URI uri = URI.create(url);
            Map<String, String> labels = new LinkedHashMap<>();
            labels.put("job", kind(name));
            labels.put("service", kind(name));
            if (!"/metrics".equals(uri.getPath())) {
                labels.put("__metrics_path__", uri.getPath());
            }
            entries.add(Map.of("targets", List.of(uri.getHost() + ":" + uri.getPort()), "labels", labels));
        });
        return entries;
    }

    /**
     * Writes the targets to {@code file} in one move, so that Prometheus, which watches the file,
     * never reads half of it.
     */
    public static void write(Path file, Map<String, String> urls) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".targets-", ".tmp");
        try {
            JSON.writeValue(tmp.toFile(), entries(urls));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
