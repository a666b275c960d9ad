package io.rollout.deploy.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.deploy.RolloutProcess;
import io.rollout.runtime.metrics.MetricsHttpServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped monitoring against a real Prometheus (Debian's package) scraping a short
 * {@code rollout local} run (a child JVM with its embedded broker and the tiny model, found
 * through the targets its {@code --prometheus-targets} writes and the shipped
 * prometheus-file-sd.yml): every target is up, the
 * alert rules load and evaluate, every alert expression and every dashboard query is valid, and
 * every dashboard query returns a series but those listed in {@link #QUIET_IN_A_SHORT_RUN}. It
 * also checks the names and labels the services expose against Prometheus conventions, and runs
 * the Kubernetes configuration's relabelling on pod labels.
 */
class PrometheusProofTest {

    /**
     * Dashboard queries (panel title / query id) that legitimately return nothing in a short,
     * healthy local run, each with the reason. Everything else must return at least one series.
     */
    static final Map<String, String> QUIET_IN_A_SHORT_RUN = Map.of(
            "env-service errors by kind / A", "env_errors_total is counted per kind at the first error; a healthy run has none",
            "Native: non-heap, direct buffers, RocksDB / C", "Micrometer's Kafka binder looks for new Kafka Streams metrics once a "
                    + "minute, and the RocksDB stores open after the app starts: their block cache shows within a minute");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** What Grafana's {@code $__rate_interval} is taken to be: several scrapes at 1 s. */
    private static final String RATE_INTERVAL = "30s";

    @TempDir
    Path dir;

    /** What the Kubernetes job's pod serves: a metrics page with no series of the pipeline's. */
    private MetricsHttpServer podEndpoint;

    @Test
    void shouldScrapeEveryServiceAndAnswerEveryPanelAndAlert() throws Exception {
        Path prom = dir.resolve("monitoring/prometheus");
        Path targets = prom.resolve("targets/local.json");
        try (RolloutProcess local = RolloutProcess.start(dir, "local", "1g", List.of("local",
                        "--warm-start", "off", "--eval-levels", "0", "--minutes", "5", "--actors", "1",
                        "--group-size", "4", "--max-steps", "8", "--batch-groups", "2", "--seed", "7",
                        "--prefix", "prom.", "--report", dir.resolve("report").toString(),
                        "--prometheus-targets", targets.toString()));
                MetricsHttpServer pod = MetricsHttpServer.start("127.0.0.1", 0,
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), () -> true)) {
            podEndpoint = pod;
            local.awaitLine("prometheus-targets=", Duration.ofMinutes(3));
            Path config = writeConfig(prom);
            try (PrometheusServer prometheus = PrometheusServer.start(config, dir.resolve("tsdb"))) {
                long start = System.currentTimeMillis() / 1000;
                await("two versions trained", Duration.ofMinutes(4), () -> {
                    if (!local.isAlive()) {
                        throw new AssertionError("local exited:\n" + stderrOf(local));
                    }
                    JsonNode r = prometheus.api("/api/v1/query?query="
                            + URLEncoder.encode("max(rollout_trainer_version)", StandardCharsets.UTF_8)).get("result");
                    return !r.isEmpty() && r.get(0).get("value").get(1).asDouble() >= 2;
                });

                checkTargets(prometheus, JSON.readTree(targets.toFile()).size());
                // rate() needs two samples in its window, and the broker reads lag every 5 s.
                await("20 scrapes of every target", Duration.ofSeconds(60), () -> {
                    JsonNode r = prometheus.api("/api/v1/query?query="
                            + URLEncoder.encode("min(count_over_time(up[1m]))", StandardCharsets.UTF_8)).get("result");
                    return !r.isEmpty() && r.get(0).get("value").get(1).asDouble() >= 20;
                });
                checkRules(prometheus);
                checkDashboard(prometheus);
                checkNames(prometheus);
                snapshot(prometheus, start);
            }
        }
        assertThat(JSON.readTree(targets.toFile())).as("targets once local has stopped").isEmpty();
    }

    private static String stderrOf(RolloutProcess process) {
        try {
            return process.stderr();
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /**
     * prometheus-file-sd.yml with a 1 s scrape and evaluation interval, the run's targets beside
     * it, and the Kubernetes configuration's job reading pod labels from a file.
     */
    private Path writeConfig(Path prom) throws IOException {
        Files.createDirectories(prom);
        Files.copy(Promtool.MONITORING.resolve("rules.yml"), prom.resolveSibling("rules.yml"));
        String fileSd = Files.readString(Promtool.MONITORING.resolve("prometheus/prometheus-file-sd.yml"))
                .replace("scrape_interval: 15s", "scrape_interval: 1s")
                .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
                .replace("refresh_interval: 30s", "refresh_interval: 1s");
        assertThat(fileSd).contains("scrape_interval: 1s");

        // The Kubernetes job, with its pods from a file: one pod of the pipeline (an endpoint of
        // its own, so that no service's series are scraped twice), one of another application and
        // one still pending, which it must drop.
        String k8s = Files.readString(
                MonitoringRulesTest.withoutKubernetesDiscovery(Promtool.MONITORING.resolve("prometheus/prometheus-kubernetes.yml"), dir.resolve("k8s")));
        String k8sJob = k8s.substring(k8s.indexOf("  - job_name: rollout")).replace("job_name: rollout", "job_name: kubernetes-pods")
                .replace("\"pods.json\"", "\"k8s/pods.json\"");
        URI trainer = URI.create(podEndpoint.url() + "/metrics");
        List<Map<String, Object>> pods = new ArrayList<>();
        pods.add(pod(trainer, "trainer-0", "rollout", "trainer", "Running"));
        pods.add(pod(trainer, "other-0", "something-else", "web", "Running"));
        pods.add(pod(trainer, "trainer-1", "rollout", "trainer", "Pending"));
        Files.createDirectories(prom.resolve("k8s"));
        JSON.writeValue(prom.resolve("k8s/pods.json").toFile(), pods);

        Path config = prom.resolve("proof.yml");
        Files.writeString(config, fileSd + "\n" + k8sJob);
        return config;
    }

    private static Map<String, Object> pod(URI endpoint, String name, String partOf, String component, String phase) {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("__meta_kubernetes_namespace", "ml");
        labels.put("__meta_kubernetes_pod_name", name);
        labels.put("__meta_kubernetes_pod_phase", phase);
        labels.put("__meta_kubernetes_pod_label_app_kubernetes_io_part_of", partOf);
        labels.put("__meta_kubernetes_pod_label_app_kubernetes_io_component", component);
        labels.put("__meta_kubernetes_pod_container_port_name", "metrics");
        labels.put("__meta_kubernetes_pod_container_port_number", Integer.toString(endpoint.getPort()));
        return Map.of("targets", List.of(endpoint.getHost() + ":" + endpoint.getPort()), "labels", labels);
    }

    private static void checkTargets(PrometheusServer prometheus, int services) throws Exception {
        await("every target up", Duration.ofSeconds(60), () -> {
            JsonNode active = prometheus.api("/api/v1/targets?state=active").get("activeTargets");
            int up = 0;
            for (JsonNode t : active) {
                up += "up".equals(t.get("health").asText()) ? 1 : 0;
            }
            return active.size() == services + 1 && up == active.size();
        });
        JsonNode active = prometheus.api("/api/v1/targets?state=active").get("activeTargets");
        Map<String, String> serviceByJob = new TreeMap<>();
        for (JsonNode t : active) {
            JsonNode labels = t.get("labels");
            assertThat(labels.get("job").asText()).as("job of " + labels).isEqualTo(labels.get("service").asText());
            assertThat(labels.get("instance").asText()).isNotBlank();
            if ("kubernetes-pods".equals(t.get("scrapePool").asText())) {
                assertThat(labels.get("instance").asText()).startsWith("trainer-0:");
                assertThat(labels.get("namespace").asText()).isEqualTo("ml");
            }
            serviceByJob.put(labels.get("job").asText(), labels.get("service").asText());
        }
        assertThat(serviceByJob).containsOnlyKeys("broker", "env-service", "actor", "advantage", "trainer");
    }

    private static void checkRules(PrometheusServer prometheus) throws Exception {
        Set<String> rules = new TreeSet<>();
        await("every rule evaluated", Duration.ofSeconds(30), () -> {
            rules.clear();
            for (JsonNode group : prometheus.api("/api/v1/rules").get("groups")) {
                for (JsonNode rule : group.get("rules")) {
                    if (rule.has("lastEvaluation") && !rule.get("lastEvaluation").asText().startsWith("0001")) {
                        assertThat(rule.get("health").asText()).as(rule.get("name") + ": " + rule.get("lastError"))
                                .isEqualTo("ok");
                        rules.add(rule.get("name").asText());
                    }
                }
            }
            return rules.size() >= 14;
        });
        for (JsonNode group : prometheus.api("/api/v1/rules").get("groups")) {
            for (JsonNode rule : group.get("rules")) {
                JsonNode answer = prometheus.query(rule.get("query").asText());
                assertThat(answer.get("status").asText()).as(rule.get("name") + ": " + answer).isEqualTo("success");
            }
        }
    }

    private static void checkDashboard(PrometheusServer prometheus) throws Exception {
        JsonNode dashboard = JSON.readTree(Promtool.MONITORING.resolve("grafana/rollout-dashboard.json").toFile());
        Map<String, String> empty = new TreeMap<>();
        int queries = 0;
        for (JsonNode panel : dashboard.get("panels")) {
            if (!panel.has("targets")) {
                continue;
            }
            String title = panel.get("title").asText();
            for (JsonNode target : panel.get("targets")) {
                String expr = DashboardSnapshot.query(target, RATE_INTERVAL);
                JsonNode answer = prometheus.query(expr);
                queries++;
                assertThat(answer.get("status").asText()).as(title + ": " + expr + " -> " + answer).isEqualTo("success");
                if (answer.get("data").get("result").isEmpty()) {
                    empty.put(title + " / " + target.get("refId").asText(), expr);
                }
            }
        }
        assertThat(queries).isGreaterThanOrEqualTo(28);
        empty.keySet().removeAll(QUIET_IN_A_SHORT_RUN.keySet());
        assertThat(empty).as("dashboard queries that returned no series").isEmpty();
    }

    /**
     * Prometheus conventions on what the services expose: counters end in _total, durations
     * are in seconds and sizes in bytes, no unit word doubled, and no label that would make a
     * series per session, episode or group.
     */
    private static void checkNames(PrometheusServer prometheus) throws Exception {
        JsonNode metadata = prometheus.api("/api/v1/metadata");
        List<String> problems = new ArrayList<>();
        metadata.fields().forEachRemaining(e -> {
            String name = e.getKey();
            if (!name.startsWith("rollout_") && !name.startsWith("env_")) {
                return;
            }
            String type = e.getValue().get(0).get("type").asText();
            if (type.equals("counter") && !name.endsWith("_total")) {
                problems.add(name + ": a counter whose name does not end in _total");
            }
            if (name.matches(".*_(milliseconds|ms|nanos|minutes|kilobytes|megabytes)(_.*)?")) {
                problems.add(name + ": not in base units (seconds, bytes)");
            }
            Matcher doubled = Pattern.compile("_([a-z]+)_\\1(_|$)").matcher(name);
            if (doubled.find()) {
                problems.add(name + ": the word '" + doubled.group(1) + "' twice");
            }
        });
        JsonNode labels = prometheus.api("/api/v1/labels?match[]="
                + URLEncoder.encode("{__name__=~\"rollout_.+|env_.+\"}", StandardCharsets.UTF_8));
        for (JsonNode label : labels) {
            if (label.asText().matches("(?i).*(session|episode|group_id|groupid|task_id|step_id).*")) {
                problems.add("label " + label.asText() + ": a series per session, episode, group or task");
            }
        }
        assertThat(metadata.size()).as("metric families Prometheus knows").isGreaterThan(50);
        assertThat(problems).isEmpty();
    }

    /**
     * The dashboard drawn from this run's data, as docs/monitoring.md shows it: into
     * {@code -Dmonitoring.snapshot=FILE} when given, else beside the test's other files.
     */
    private void snapshot(PrometheusServer prometheus, long start) throws Exception {
        JsonNode dashboard = JSON.readTree(Promtool.MONITORING.resolve("grafana/rollout-dashboard.json").toFile());
        String to = System.getProperty("monitoring.snapshot");
        Path file = to != null ? Path.of(to) : dir.resolve("dashboard.png");
        long end = System.currentTimeMillis() / 1000;
        int drawn = DashboardSnapshot.write(dashboard, (expr, from, until, step) -> prometheus.get(
                "/api/v1/query_range?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)
                        + "&start=" + from + "&end=" + until + "&step=" + step), start, end, RATE_INTERVAL, file);
        assertThat(drawn).as("panels with a line").isGreaterThanOrEqualTo(26);
        assertThat(Files.size(file)).isPositive();
    }

    private static void await(String what, Duration timeout, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout + ": " + what);
            }
            Thread.sleep(250);
        }
    }

    /** The Prometheus server process, on a free loopback port, with its data in a temporary directory. */
    private record PrometheusServer(Process process, URI url, Path log) implements AutoCloseable {

        static PrometheusServer start(Path config, Path data) throws Exception {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path log = data.resolveSibling("prometheus.log");
            Files.createDirectories(data);
            Process p = new ProcessBuilder(Promtool.binary("prometheus").toString(),
                    "--config.file=" + config, "--storage.tsdb.path=" + data,
                    "--web.listen-address=127.0.0.1:" + port, "--log.level=warn")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            PrometheusServer server = new PrometheusServer(p, URI.create("http://127.0.0.1:" + port), log);
            try {
                await("Prometheus ready", Duration.ofSeconds(30), () -> {
                    if (!p.isAlive()) {
                        throw new AssertionError("prometheus exited: " + server.logText());
                    }
                    try {
                        return HTTP.send(HttpRequest.newBuilder(server.url.resolve("/-/ready")).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
                    } catch (IOException e) {
                        return false;
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return false;
                    }
                });
            } catch (Throwable t) {
                server.close();
                throw t;
            }
            return server;
        }

        /** The data of an API answer, failing on an error status. */
        JsonNode api(String path) {
            try {
                JsonNode answer = get(path);
                assertThat(answer.get("status").asText()).as(path + " -> " + answer).isEqualTo("success");
                return answer.get("data");
            } catch (IOException e) {
                throw new AssertionError(path + ": " + e, e);
            }
        }

        /** The whole answer to an instant query, errors included. */
        JsonNode query(String expr) throws IOException {
            return get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        }

        JsonNode get(String path) throws IOException {
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(url.resolve(path)).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString());
                return JSON.readTree(r.body());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }

        String logText() {
            try {
                return Files.readString(log);
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }

        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
