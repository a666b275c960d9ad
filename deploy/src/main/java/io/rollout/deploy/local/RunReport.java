package io.rollout.deploy.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@code report.json} and the charts of a local run. {@code versions} has one entry per policy
 * version: {@code success_rate}, {@code mean_return} and {@code episodes} of the episodes
 * whose first step that version generated, {@code steps} it generated (and the share of valid
 * actions among them, {@code valid_rate}), and {@code samples},
 * {@code loss} and {@code staleness} of the update that produced it (null for version 0).
 * The success chart also shows the success rate's trailing mean over 10 versions (a version's
 * 4 or so groups make its own rate noisy) and the share of valid actions.
 */
final class RunReport {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Map<String, Object> config;
    private final Map<Long, StepMonitor.Tally> played;
    private final Map<Long, LocalCommand.VersionRecord> trained;
    private final Evaluation.Result initial;
    private final Evaluation.Result randomMoves;
    private final Evaluation.Result after;
    private final StepMonitor.Tally totals;
    private final List<Progress.Point> timeline;
    private final double trainSeconds;
    private final double wallSeconds;
    private final Map<String, String> metrics;
    private final String stopReason;
    private final Map<String, Object> warmStart;

    RunReport(Map<String, Object> config, Map<String, Object> warmStart, Map<Long, StepMonitor.Tally> played,
            Map<Long, LocalCommand.VersionRecord> trained, Evaluation.Result initial, Evaluation.Result after,
            Evaluation.Result randomMoves,
            StepMonitor.Tally totals, List<Progress.Point> timeline, double trainSeconds, double wallSeconds,
            Map<String, String> metrics, String stopReason) {
        this.config = config;
        this.warmStart = warmStart;
        this.played = played;
        this.trained = trained;
        this.initial = initial;
        this.randomMoves = randomMoves;
        this.after = after;
        this.totals = totals;
        this.timeline = timeline;
        this.trainSeconds = trainSeconds;
        this.wallSeconds = wallSeconds;
        this.metrics = metrics;
        this.stopReason = stopReason;
    }

    static Object finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** Writes report.json and the PNG charts into {@code dir}; returns the files written. */
    List<Path> write(Path dir) throws IOException {
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        Path json = dir.resolve("report.json");
        JSON.writeValue(json.toFile(), toJson());
        written.add(json);
        written.addAll(charts(dir));
        return written;
    }

    Map<String, Object> toJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("config", config);
        List<Map<String, Object>> vs = new ArrayList<>();
        for (long v : versions()) {
            StepMonitor.Tally p = played.get(v);
            LocalCommand.VersionRecord t = trained.get(v);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", v);
            m.put("success_rate", p == null ? null : finiteOrNull(p.successRate()));
            m.put("mean_return", p == null ? null : finiteOrNull(p.meanReturn()));
            m.put("episodes", p == null ? 0 : p.episodes());
            m.put("steps", p == null ? 0 : p.steps());
            m.put("valid_rate", p == null ? null : finiteOrNull(p.validRate()));
            m.put("samples", t == null ? null : t.samples());
            m.put("loss", t == null ? null : finiteOrNull(t.loss()));
            m.put("staleness", t == null ? null : t.staleness());
            m.put("trained_at_s", t == null ? null : t.atS());
            vs.add(m);
        }
        root.put("versions", vs);
        Map<String, Object> eval = new LinkedHashMap<>();
        eval.put("episodes", initial != null ? initial.episodes() : 0);
        eval.put("seeds", config.get("eval_seeds"));
        eval.put("initial", initial == null ? null : initial.toJson());
        eval.put("final", after == null ? null : after.toJson());
        eval.put("improvement_pp", initial == null || after == null ? null
                : 100 * (after.successRate() - initial.successRate()));
        eval.put("random_moves", randomMoves == null ? null : randomMoves.toJson());
        eval.put("warm_start", warmStart);
        root.put("eval", eval);
        Map<String, Object> throughput = new LinkedHashMap<>();
        long samples = trained.values().stream().mapToLong(LocalCommand.VersionRecord::samples).sum();
        long groups = trained.values().stream().mapToLong(LocalCommand.VersionRecord::groups).sum();
        throughput.put("steps_per_s", totals.steps() / trainSeconds);
        throughput.put("episodes_per_s", totals.episodes() / trainSeconds);
        throughput.put("samples_trained_per_s", samples / trainSeconds);
        throughput.put("groups_trained_per_s", groups / trainSeconds);
        throughput.put("versions_per_min", trained.size() / (trainSeconds / 60));
        throughput.put("steps", totals.steps());
        throughput.put("episodes", totals.episodes());
        throughput.put("timeline", timeline.stream().map(Progress.Point::toJson).toList());
        root.put("throughput", throughput);
        root.put("training_s", trainSeconds);
        root.put("wall_s", wallSeconds);
        root.put("stopped", stopReason);
        root.put("metrics", metrics);
        return root;
    }

    private TreeSet<Long> versions() {
        TreeSet<Long> all = new TreeSet<>(played.keySet());
        all.addAll(trained.keySet());
        return all;
    }

    private List<Path> charts(Path dir) throws IOException {
        List<Long> vs = List.copyOf(versions());
        double[] x = vs.stream().mapToDouble(Long::doubleValue).toArray();
        double[] success = vs.stream().mapToDouble(v -> played.containsKey(v) ? played.get(v).successRate()
                : Double.NaN).toArray();
        double[] ret = vs.stream().mapToDouble(v -> played.containsKey(v) ? played.get(v).meanReturn()
                : Double.NaN).toArray();
        double[] valid = vs.stream().mapToDouble(v -> played.containsKey(v) ? played.get(v).validRate()
                : Double.NaN).toArray();
        double[] stale = vs.stream().mapToDouble(v -> trained.containsKey(v) ? trained.get(v).staleness()
                : Double.NaN).toArray();
        double[] t = timeline.stream().mapToDouble(Progress.Point::tS).toArray();
        double[] steps = timeline.stream().mapToDouble(Progress.Point::stepsPerS).toArray();

        LineChart successChart = LineChart.titled("Success rate and valid actions per policy version")
                .xLabel("policy version").yLabel("rate").yRange(0, 1).series("success (training)", x, success)
                .series("success, mean of 10 versions", x, trailingMean(success, 10))
                .series("valid actions", x, valid);
        LineChart returnChart = LineChart.titled("Mean episode return per policy version")
                .xLabel("policy version").yLabel("return").series("training", x, ret);
        if (randomMoves != null) {
            successChart.reference(String.format("held-out eval, random moves: %.3f", randomMoves.successRate()),
                    randomMoves.successRate());
        }
        if (initial != null) {
            successChart.reference(String.format("held-out eval, %s: %.3f",
                    warmStart == null ? "base" : "warm-started base", initial.successRate()),
                    initial.successRate());
            returnChart.reference(String.format("held-out eval, base: %.2f", initial.meanReturn()),
                    initial.meanReturn());
        }
        if (after != null) {
            successChart.reference(String.format("held-out eval, v%d: %.3f", after.version(), after.successRate()),
                    after.successRate());
            returnChart.reference(String.format("held-out eval, v%d: %.2f", after.version(), after.meanReturn()),
                    after.meanReturn());
        }
        List<Path> out = new ArrayList<>();
        out.add(write(successChart, dir.resolve("success.png")));
        out.add(write(returnChart, dir.resolve("return.png")));
        out.add(write(LineChart.titled("Steps published per second").xLabel("seconds of training")
                .yLabel("steps/s").series("steps/s", t, steps), dir.resolve("throughput.png")));
        out.add(write(LineChart.titled("Staleness of trained samples (versions behind)").xLabel("policy version")
                .yLabel("versions").series("mean staleness", x, stale), dir.resolve("staleness.png")));
        return out;
    }

    /** The mean of the finite values among the last {@code window} (this one included); NaN if none. */
    static double[] trailingMean(double[] y, int window) {
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            double sum = 0;
            int n = 0;
            for (int j = Math.max(0, i - window + 1); j <= i; j++) {
                if (Double.isFinite(y[j])) {
                    sum += y[j];
                    n++;
                }
            }
            out[i] = n == 0 ? Double.NaN : sum / n;
        }
        return out;
    }

    private static Path write(LineChart chart, Path file) throws IOException {
        chart.writePng(file, 800, 480);
        return file;
    }
}
