package io.rollout.deploy.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.deploy.local.LineChart;
import io.rollout.deploy.local.LocalCommand;
import io.rollout.deploy.warmstart.WarmStart;
import io.rollout.deploy.warmstart.WarmStartSpec;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.runtime.config.CommandLines;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Small reproductions of the papers' comparisons on the local pipeline: every arm is a
 * {@code rollout local} run from one shared warm-started tiny model, stopped after the same
 * number of policy versions (the same budget of trained episodes: versions x batch groups x
 * group size), evaluated on the same held-out levels. Writes each run's report under
 * {@code OUT/runs/}, and {@code OUT/results.md}, {@code OUT/results.json} and a chart.
 */
@Command(
        name = "experiment",
        mixinStandardHelpOptions = true,
        description = "Reproduces the papers' comparisons small, from one warm start, at equal budgets.",
        subcommands = {ExperimentCommand.GigpoVsGrpo.class, ExperimentCommand.GgpoRanks.class})
public final class ExperimentCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    /** The options both experiments share. */
    static class Common {
        @Option(names = "--out", paramLabel = "DIR", required = true, description = "Where runs and results go.")
        Path out;

        @Option(names = "--versions", defaultValue = "150",
                description = "Policy versions per run: the equal budget (default: ${DEFAULT-VALUE}; with local's "
                        + "8 groups of 8 episodes per update, 9,600 trained episodes).")
        int versions;

        @Option(names = "--eval-levels", defaultValue = "500", description = "Held-out levels (default: ${DEFAULT-VALUE}).")
        int evalLevels;

        @Option(names = "--local", paramLabel = "ARG", split = " ",
                description = "Further options passed to every 'local' run, e.g. --local '--actors 3'.")
        List<String> localArgs = new ArrayList<>();
    }

    /** One arm of an experiment: a name, its seed and the options that set it apart. */
    record Arm(String name, String group, double x, long seed, List<String> args) {}

    /** What one finished run measured. */
    record Outcome(Arm arm, double heldOut, double heldOutBase, double trainLate, JsonNode report) {}

    @Command(
            name = "gigpo-vs-grpo",
            mixinStandardHelpOptions = true,
            description = {
                "GiGPO (--omega 1: episode- plus step-level advantages) against GRPO (--omega 0: episode-level "
                    + "only) on Sokoban, from the same warm start, --versions versions each, one run per seed and "
                    + "method. Writes a table of held-out success (mean and spread over seeds) and one chart of "
                    + "both methods' training success per version (mean over seeds)."
            })
    static final class GigpoVsGrpo extends Common implements Callable<Integer> {
        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Option(names = "--seeds", split = ",", defaultValue = "0,1,2", description = "RL seeds (default: ${DEFAULT-VALUE}).")
        List<Long> seeds;

        @Override
        public Integer call() throws Exception {
            List<Arm> arms = new ArrayList<>();
            for (long seed : seeds) {
                arms.add(new Arm("gigpo-s" + seed, "GiGPO (omega 1)", 1, seed, List.of("--omega", "1")));
                arms.add(new Arm("grpo-s" + seed, "GRPO (omega 0)", 0, seed, List.of("--omega", "0")));
            }
            return run(spec.commandLine().getOut(), this, arms, outcomes -> {
                LineChart chart = LineChart.titled("Training success per version, mean over seeds")
                        .xLabel("policy version").yLabel("success rate").yRange(0, 1);
                for (String group : List.of("GiGPO (omega 1)", "GRPO (omega 0)")) {
                    double[][] curve = meanCurve(outcomes.stream().filter(o -> o.arm().group().equals(group)).toList(),
                            versions);
                    chart.series(group, curve[0], curve[1]);
                }
                return chart;
            });
        }
    }

    @Command(
            name = "ggpo-ranks",
            mixinStandardHelpOptions = true,
            description = {
                "LoRA-GGPO across LoRA ranks: for each of --ranks, plain LoRA (--ggpo none) and LoRA-GGPO "
                    + "(--ggpo ggpo), one run per seed, from the same warm start, --versions versions each. Writes "
                    + "held-out success and the gap between late training success and held-out success, and one "
                    + "chart of both against the rank."
            })
    static final class GgpoRanks extends Common implements Callable<Integer> {
        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Option(names = "--seeds", split = ",", defaultValue = "0,1", description = "RL seeds (default: ${DEFAULT-VALUE}).")
        List<Long> seeds;

        @Option(names = "--ranks", split = ",", defaultValue = "2,8,32", description = "LoRA ranks (default: ${DEFAULT-VALUE}).")
        List<Integer> ranks;

        @Override
        public Integer call() throws Exception {
            List<Arm> arms = new ArrayList<>();
            for (int rank : ranks) {
                for (String mode : List.of("none", "ggpo")) {
                    for (long seed : seeds) {
                        arms.add(new Arm(mode + "-r" + rank + "-s" + seed, mode, rank, seed,
                                List.of("--lora-rank", Integer.toString(rank), "--ggpo", mode)));
                    }
                }
            }
            return run(spec.commandLine().getOut(), this, arms, outcomes -> {
                LineChart chart = LineChart.titled("Held-out and late training success by LoRA rank, mean over seeds")
                        .xLabel("log2(LoRA rank)").yLabel("success rate").yRange(0, 1);
                for (String mode : List.of("none", "ggpo")) {
                    double[] x = ranks.stream().mapToDouble(r -> Math.log(r) / Math.log(2)).toArray();
                    double[] held = new double[ranks.size()];
                    double[] train = new double[ranks.size()];
                    for (int i = 0; i < ranks.size(); i++) {
                        int rank = ranks.get(i);
                        List<Outcome> cell = outcomes.stream()
                                .filter(o -> o.arm().group().equals(mode) && o.arm().x() == rank).toList();
                        held[i] = cell.stream().mapToDouble(Outcome::heldOut).average().orElse(Double.NaN);
                        train[i] = cell.stream().mapToDouble(Outcome::trainLate).average().orElse(Double.NaN);
                    }
                    String label = mode.equals("none") ? "plain LoRA" : "LoRA-GGPO";
                    chart.series(label + ", held-out", x, held).series(label + ", training (last 20%)", x, train);
                }
                return chart;
            });
        }
    }

    /**
     * Warm-starts once (or reuses OUT/warm), runs every arm that has no report yet (so an
     * interrupted experiment resumes), and writes the results.
     */
    static int run(PrintWriter out, Common c, List<Arm> arms, Function<List<Outcome>, LineChart> chart)
            throws Exception {
        Path base = c.out.resolve("base");
        Path warm = c.out.resolve("warm");
        TinyModels.write(base, TinyModelSpec.defaults(), TinyModels.defaultWords(), 0);
        WarmStartSpec spec = LocalCommand.defaultWarmStartSpec();
        if (!WarmStart.matches(warm, base, spec)) {
            out.println("warm start: writing " + warm);
            out.flush();
            WarmStart.run(base, warm, spec, (step, steps, loss, seconds) -> { });
        }
        out.println("warm start: " + warm);
        List<Outcome> outcomes = new ArrayList<>();
        for (Arm arm : arms) {
            Path report = c.out.resolve("runs").resolve(arm.name());
            if (!Files.isRegularFile(report.resolve("report.json"))) {
                out.printf("run %s ...%n", arm.name());
                out.flush();
                List<String> args = new ArrayList<>(List.of("--model", warm.toString(), "--warm-start", "off",
                        "--seed", Long.toString(arm.seed()), "--versions", Integer.toString(c.versions),
                        "--minutes", "600", "--eval-levels", Integer.toString(c.evalLevels),
                        "--report", report.toString()));
                args.addAll(arm.args());
                args.addAll(c.localArgs);
                int code = runLocal(args, report);
                if (code != 0) {
                    out.printf("run %s failed with exit code %d; see %s%n", arm.name(), code, report);
                    return 1;
                }
            }
            Outcome o = outcome(arm, report.resolve("report.json"));
            outcomes.add(o);
            out.printf(Locale.ROOT, "run %s: held-out success %.3f (warm start %.3f), training success late %.3f%n",
                    arm.name(), o.heldOut(), o.heldOutBase(), o.trainLate());
            out.flush();
        }
        Path md = c.out.resolve("results.md");
        Files.writeString(md, table(outcomes), StandardCharsets.UTF_8);
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(c.out.resolve("results.json").toFile(),
                outcomes.stream().map(ExperimentCommand::toJson).toList());
        chart.apply(outcomes).writePng(c.out.resolve("results.png"), 800, 480);
        out.print(table(outcomes));
        out.println("wrote " + md + ", " + c.out.resolve("results.json") + ", " + c.out.resolve("results.png"));
        out.flush();
        return 0;
    }

    private static int runLocal(List<String> args, Path report) throws IOException {
        Files.createDirectories(report);
        try (PrintWriter runOut = new PrintWriter(Files.newBufferedWriter(report.resolve("run.out")), true);
                PrintWriter runErr = new PrintWriter(Files.newBufferedWriter(report.resolve("run.err")), true)) {
            return CommandLines.of(new LocalCommand(), 1).setOut(runOut).setErr(runErr)
                    .execute(args.toArray(String[]::new));
        }
    }

    static Outcome outcome(Arm arm, Path reportFile) throws IOException {
        JsonNode r = new ObjectMapper().readTree(reportFile.toFile());
        double heldOut = r.path("eval").path("final").path("success_rate").asDouble(Double.NaN);
        double base = r.path("eval").path("initial").path("success_rate").asDouble(Double.NaN);
        return new Outcome(arm, heldOut, base, lateTrainingSuccess(r), r);
    }

    /** Training success over the episodes of the last fifth of the versions. */
    static double lateTrainingSuccess(JsonNode report) {
        List<JsonNode> versions = new ArrayList<>();
        report.path("versions").forEach(versions::add);
        long last = versions.stream().mapToLong(v -> v.path("version").asLong()).max().orElse(0);
        double from = last * 0.8;
        double successes = 0;
        double episodes = 0;
        for (JsonNode v : versions) {
            if (v.path("version").asLong() >= from && v.path("success_rate").isNumber()) {
                successes += v.path("success_rate").asDouble() * v.path("episodes").asDouble();
                episodes += v.path("episodes").asDouble();
            }
        }
        return episodes == 0 ? Double.NaN : successes / episodes;
    }

    /** Mean over runs of the training success per version, as a trailing mean over 10 versions. */
    static double[][] meanCurve(List<Outcome> runs, int versions) {
        double[] x = new double[versions + 1];
        double[] y = new double[versions + 1];
        for (int v = 0; v <= versions; v++) {
            x[v] = v;
            double sum = 0;
            int n = 0;
            for (Outcome o : runs) {
                double s = 0;
                double e = 0;
                for (JsonNode node : o.report().path("versions")) {
                    long at = node.path("version").asLong();
                    if (at > v - 10 && at <= v && node.path("success_rate").isNumber()) {
                        s += node.path("success_rate").asDouble() * node.path("episodes").asDouble();
                        e += node.path("episodes").asDouble();
                    }
                }
                if (e > 0) {
                    sum += s / e;
                    n++;
                }
            }
            y[v] = n == 0 ? Double.NaN : sum / n;
        }
        return new double[][] {x, y};
    }

    /** Markdown: one row per group (x), mean and spread (min-max, standard deviation) over seeds. */
    static String table(List<Outcome> outcomes) {
        Map<String, List<Outcome>> cells = new LinkedHashMap<>();
        for (Outcome o : outcomes) {
            cells.computeIfAbsent(o.arm().group() + "|" + o.arm().x(), k -> new ArrayList<>()).add(o);
        }
        StringBuilder sb = new StringBuilder();
        sb.append("| arm | setting | seeds | held-out success, mean | min-max | sd | warm start | "
                + "training success, last 20% | train - held-out |\n|---|---:|---:|---:|---|---:|---:|---:|---:|\n");
        for (List<Outcome> cell : cells.values()) {
            double[] held = cell.stream().mapToDouble(Outcome::heldOut).toArray();
            double mean = mean(held);
            double train = mean(cell.stream().mapToDouble(Outcome::trainLate).toArray());
            sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %.3f | %.3f-%.3f | %.3f | %.3f | %.3f | %+.3f |%n",
                    cell.get(0).arm().group(), trim(cell.get(0).arm().x()), cell.size(), mean, min(held), max(held),
                    sd(held), mean(cell.stream().mapToDouble(Outcome::heldOutBase).toArray()), train, train - mean));
        }
        return sb.toString();
    }

    private static Map<String, Object> toJson(Outcome o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("run", o.arm().name());
        m.put("arm", o.arm().group());
        m.put("setting", o.arm().x());
        m.put("seed", o.arm().seed());
        m.put("held_out_success", o.heldOut());
        m.put("warm_start_success", o.heldOutBase());
        m.put("training_success_last_20pct", o.trainLate());
        m.put("versions", o.report().path("versions").size() - 1);
        return m;
    }

    private static String trim(double x) {
        return x == Math.rint(x) ? Long.toString((long) x) : Double.toString(x);
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double d : v) {
            s += d;
        }
        return v.length == 0 ? Double.NaN : s / v.length;
    }

    private static double sd(double[] v) {
        if (v.length < 2) {
            return 0;
        }
        double m = mean(v);
        double s = 0;
        for (double d : v) {
            s += (d - m) * (d - m);
        }
        return Math.sqrt(s / (v.length - 1));
    }

    private static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double d : v) {
            m = Math.min(m, d);
        }
        return m;
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            m = Math.max(m, d);
        }
        return m;
    }
}
