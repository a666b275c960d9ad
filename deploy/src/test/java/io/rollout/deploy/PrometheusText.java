package io.rollout.deploy;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;

/** A {@code /metrics} page read over HTTP, and the value of one series in it. */
record PrometheusText(String text) {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** GET {@code url} (ending in {@code /metrics}); fails unless answered 200. */
    static PrometheusText scrape(String url) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException(url + " answered " + response.statusCode() + ": " + response.body());
        }
        return new PrometheusText(response.body());
    }

    /** The value of the series {@code name} with exactly {@code labels}, empty if absent. */
    OptionalDouble value(String name, Map<String, String> labels) {
        for (String line : text.lines().toList()) {
            if (line.startsWith("#") || !line.startsWith(name)) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            String series = line.substring(0, space);
            int brace = series.indexOf('{');
            String seriesName = brace < 0 ? series : series.substring(0, brace);
            if (seriesName.equals(name) && labels(brace < 0 ? "" : series.substring(brace + 1, series.length() - 1))
                    .equals(labels)) {
                return OptionalDouble.of(Double.parseDouble(line.substring(space + 1)));
            }
        }
        return OptionalDouble.empty();
    }

    /** The value of {@code name} without labels. */
    OptionalDouble value(String name) {
        return value(name, Map.of());
    }

    /** Whether any series of {@code name} has {@code label="value"} among its labels. */
    boolean hasSeries(String name, String label, String value) {
        String needle = label + "=\"" + value + "\"";
        return text.lines().anyMatch(l -> l.startsWith(name + "{") && l.contains(needle));
    }

    private static Map<String, String> labels(String s) {
        Map<String, String> labels = new LinkedHashMap<>();
        int i = 0;
        while (i < s.length()) {
            int eq = s.indexOf('=', i);
            int end = s.indexOf('"', eq + 2);
            while (s.charAt(end - 1) == '\\') {
                end = s.indexOf('"', end + 1);
            }
            labels.put(s.substring(i, eq), s.substring(eq + 2, end));
            i = end + 2;
        }
        return labels;
    }
}
