package io.rollout.deploy.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped alert rules and Prometheus configurations, checked by the real promtool: the
 * files parse, and every alert has unit tests (a series that fires it and one that must not) that
 * pass.
 */
class MonitoringRulesTest {

    private static final Pattern ALERT = Pattern.compile("(?m)^\\s*- alert: (\\w+)\\s*$");
    private static final Pattern TESTED = Pattern.compile("(?m)^\\s*alertname: (\\w+)\\s*$");

    @Test
    void shouldPassPromtoolsRuleCheckAndUnitTests() throws Exception {
        Promtool.Result check = Promtool.run(Promtool.MONITORING, "check", "rules", "rules.yml");
        assertThat(check.exit()).as(check.output()).isZero();

        Promtool.Result test = Promtool.run(Promtool.MONITORING, "test", "rules", "tests/rules-test.yml");
        assertThat(test.exit()).as(test.output()).isZero();
        assertThat(test.output()).contains("SUCCESS");
    }

    @Test
    void shouldTestEveryAlert() throws Exception {
        Set<String> alerts = matches(ALERT, Files.readString(Promtool.MONITORING.resolve("rules.yml")));
        Set<String> tested = matches(TESTED, Files.readString(Promtool.MONITORING.resolve("tests/rules-test.yml")));

        assertThat(alerts).as("alerts in rules.yml").hasSizeGreaterThanOrEqualTo(14);
        assertThat(tested).as("alerts with a unit test in tests/rules-test.yml").containsAll(alerts);
    }

    @TempDir
    Path tmp;

    @Test
    void shouldShipPrometheusConfigurationsThatPromtoolAccepts() throws Exception {
        List<Path> configs;
        try (Stream<Path> files = Files.list(Promtool.MONITORING.resolve("prometheus"))) {
            configs = files.filter(f -> f.toString().endsWith(".yml")).sorted().toList();
        }
        assertThat(configs).extracting(p -> p.getFileName().toString())
                .contains("prometheus.yml", "prometheus-file-sd.yml", "prometheus-kubernetes.yml");
        for (Path config : configs) {
            Path checked = config;
            if (config.getFileName().toString().equals("prometheus-kubernetes.yml")) {
                checked = withoutKubernetesDiscovery(config, tmp);
            }
            Promtool.Result r = Promtool.run(checked.getParent(), "check", "config", checked.toString());
            assertThat(r.exit()).as(config + ":\n" + r.output()).isZero();
        }
    }

    /**
     * Debian builds Prometheus without Kubernetes service discovery, so promtool rejects the
     * kubernetes_sd_configs key; the rest of the file (relabelling included) is checked with
     * file-based discovery in its place. PrometheusProofTest runs the same relabelling on pod
     * labels in a real Prometheus.
     */
    static Path withoutKubernetesDiscovery(Path config, Path dir) throws java.io.IOException {
        String text = Files.readString(config);
        String pods = "    kubernetes_sd_configs:\n      - role: pod\n";
        assertThat(text).contains(pods);
        Files.createDirectories(dir.resolve("prometheus"));
        Files.copy(Promtool.MONITORING.resolve("rules.yml"), dir.resolve("rules.yml"));
        Path copy = dir.resolve("prometheus").resolve(config.getFileName());
        Files.writeString(copy, text.replace(pods, "    file_sd_configs:\n      - files: [\"pods.json\"]\n"));
        return copy;
    }

    private static Set<String> matches(Pattern pattern, String text) {
        Set<String> found = new TreeSet<>();
        Matcher m = pattern.matcher(text);
        while (m.find()) {
            found.add(m.group(1));
        }
        return found;
    }
}
