package io.rollout.deploy.local;

import io.rollout.learner.trainer.TrainerService;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The live status line of a local run's training, one per interval:
 * {@code train t=120s left=13m00s version=5 success=0.212 valid=0.91 return=-0.52 steps/s=131 groups/s=0.40
 * staleness=0.31 loss=0.0123}. Rates are over the interval; success, valid (the share of valid
 * actions) and return over the steps and episodes that ended in it; staleness and loss are the
 * newest version's; left is the time to the {@code --minutes} bound. Keeps the throughput
 * timeline for the report.
 */
final class Progress {

    /** One interval of the run. */
    record Point(double tS, long version, double stepsPerS, double groupsPerS, double successRate,
            double meanReturn) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("t_s", tS);
            m.put("version", version);
            m.put("steps_per_s", stepsPerS);
            m.put("groups_per_s", groupsPerS);
            m.put("success_rate", RunReport.finiteOrNull(successRate));
            m.put("mean_return", RunReport.finiteOrNull(meanReturn));
            return m;
        }
    }

    private final PrintWriter out;
    private final StepMonitor monitor;
    private final TrainerService trainer;
    private final Map<Long, LocalCommand.VersionRecord> trained;
    private final long startNanos;
    private final long deadlineNanos;
    private final List<Point> timeline = new ArrayList<>();
    private long lastNanos;
    private StepMonitor.Tally last = StepMonitor.Tally.EMPTY;
    private long lastGroups;

    Progress(PrintWriter out, StepMonitor monitor, TrainerService trainer,
            Map<Long, LocalCommand.VersionRecord> trained, long startNanos, long deadlineNanos) {
        this.out = out;
        this.monitor = monitor;
        this.trainer = trainer;
        this.trained = trained;
        this.startNanos = startNanos;
        this.deadlineNanos = deadlineNanos;
        this.lastNanos = startNanos;
    }

    /** Prints a line if {@code every} has passed since the last one. */
    void maybePrint(Duration every) {
        if (System.nanoTime() - lastNanos >= every.toNanos()) {
            print();
        }
    }

    /** Prints the line for the time since the last one, unless that is under a second. */
    void print() {
        long now = System.nanoTime();
        if (now - lastNanos < 1_000_000_000L && !timeline.isEmpty()) {
            return;
        }
        double dt = Math.max(1e-9, (now - lastNanos) / 1e9);
        StepMonitor.Tally totals = monitor.totals();
        long version = trainer.version();
        long groups = trained.values().stream().mapToLong(LocalCommand.VersionRecord::groups).sum();
        long episodes = totals.episodes() - last.episodes();
        double success = episodes == 0 ? Double.NaN : (double) (totals.successes() - last.successes()) / episodes;
        double ret = episodes == 0 ? Double.NaN : (totals.returnSum() - last.returnSum()) / episodes;
        Point p = new Point((now - startNanos) / 1e9, version, (totals.steps() - last.steps()) / dt,
                (groups - lastGroups) / dt, success, ret);
        timeline.add(p);
        LocalCommand.VersionRecord newest = trained.get(version);
        long steps = totals.steps() - last.steps();
        double valid = steps == 0 ? Double.NaN : (double) (totals.validSteps() - last.validSteps()) / steps;
        long left = Math.max(0, (deadlineNanos - now) / 1_000_000_000L);
        out.printf(Locale.ROOT, "train t=%.0fs left=%dm%02ds version=%d success=%s valid=%s return=%s steps/s=%.0f "
                + "groups/s=%.2f staleness=%s loss=%s%n", p.tS(), left / 60, left % 60, version, fmt(success, "%.3f"),
                fmt(valid, "%.2f"), fmt(ret, "%.2f"), p.stepsPerS(), p.groupsPerS(),
                newest == null ? "-" : String.format(Locale.ROOT, "%.2f", newest.staleness()),
                newest == null ? "-" : String.format(Locale.ROOT, "%.4f", newest.loss()));
        out.flush();
        last = totals;
        lastGroups = groups;
        lastNanos = now;
    }

    List<Point> timeline() {
        return List.copyOf(timeline);
    }

    private static String fmt(double v, String format) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "-";
    }
}
