package io.rollout.deploy.reliability;

import io.rollout.deploy.local.LineChart;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The soak: the pipeline as separate processes (see {@link Pipeline}) runs undisturbed for a
 * long time while every {@code every} the resident set (RSS, from /proc), the heap in use and
 * the native memory (RSS minus the JVM's committed heap and non-heap: where DJL's tensors and
 * libtorch live) of each process are recorded. The report gives each process's growth after
 * the warm-up in MB per hour, the least-squares slope of its RSS.
 */
public final class SoakRun {

    /** One process's memory at one time, in MB. */
    /**
     * One reading of a process. {@code memtablesMb} is the RocksDB memtables of all its state
     * stores together and {@code blockCacheMb} the fullest store's block cache (with the shared
     * cache of the advantage app, the process's whole cache); both NaN for processes without stores.
     */
    public record Sample(String process, double minutes, double rssMb, double heapUsedMb, double nativeMb,
            double memtablesMb, double blockCacheMb) {}

    /** Growth after warm-up per process (MB/hour) and the peak RSS, with where the samples are. */
    public record Report(Map<String, Double> rssGrowthMbPerHour, Map<String, Double> nativeGrowthMbPerHour,
            Map<String, Double> heapGrowthMbPerHour, Map<String, Double> peakRssMb, long versions, Path samples,
            Path chart) {}

    private final Path dir;
    private final Duration length;
    private final Duration every;
    private final Duration warmup;
    private final long seed;
    private final PrintStream out;

    public SoakRun(Path dir, Duration length, Duration every, Duration warmup, long seed, PrintStream out) {
        this.dir = dir;
        this.length = length;
        this.every = every;
        this.warmup = warmup;
        this.seed = seed;
        this.out = out;
    }

    public Report run() throws Exception {
        List<Sample> samples = new ArrayList<>();
        Path csv = dir.resolve("memory.csv");
        long versions;
        try (Pipeline p = new Pipeline(dir, out, Pipeline.Shape.FAULTS)) {
            p.start(seed, Duration.ofMinutes(5), Duration.ofMinutes(2));
            p.say("pipeline up; sampling memory every " + every + " for " + length);
            long t0 = System.nanoTime();
            long end = t0 + length.toNanos();
            try (BufferedWriter w = Files.newBufferedWriter(csv, StandardCharsets.UTF_8)) {
                w.write("process,minutes,rss_mb,heap_used_mb,native_mb,memtables_mb,block_cache_mb\n");
                while (System.nanoTime() < end) {
                    double minutes = (System.nanoTime() - t0) / 60e9;
                    for (Child c : p.children) {
                        Sample s = sample(c, minutes);
                        if (s != null) {
                            samples.add(s);
                            w.write(String.format("%s,%.2f,%.1f,%.1f,%.1f,%.1f,%.1f%n", s.process(), s.minutes(), s.rssMb(),
                                    s.heapUsedMb(), s.nativeMb(), s.memtablesMb(), s.blockCacheMb()));
                        }
                    }
                    w.flush();
                    if (samples.size() % (p.children.size() * 10) == 0) {
                        p.say(String.format("%.0f min, trainer version %d", minutes, p.trainerVersion()));
                    }
                    Thread.sleep(every.toMillis());
                }
            }
            versions = p.trainerVersion();
            if (!p.unexpectedExits.isEmpty()) {
                p.say("processes that exited by themselves: " + p.unexpectedExits);
            }
            p.trainer.terminate(Duration.ofSeconds(30));
        }
        double from = warmup.toSeconds() / 60.0;
        Map<String, Double> rss = new LinkedHashMap<>();
        Map<String, Double> nat = new LinkedHashMap<>();
        Map<String, Double> heap = new LinkedHashMap<>();
        Map<String, Double> peak = new LinkedHashMap<>();
        LineChart chart = LineChart.titled("RSS per process over the soak").xLabel("minutes").yLabel("MB");
        for (String process : samples.stream().map(Sample::process).distinct().toList()) {
            List<Sample> mine = samples.stream().filter(s -> s.process().equals(process)).toList();
            List<Sample> after = mine.stream().filter(s -> s.minutes() >= from).toList();
            rss.put(process, slopePerHour(after, Sample::rssMb));
            nat.put(process, slopePerHour(after, Sample::nativeMb));
            heap.put(process, slopePerHour(after, Sample::heapUsedMb));
            peak.put(process, mine.stream().mapToDouble(Sample::rssMb).max().orElse(Double.NaN));
            chart.series(process, mine.stream().mapToDouble(Sample::minutes).toArray(),
                    mine.stream().mapToDouble(Sample::rssMb).toArray());
        }
        Path png = dir.resolve("memory.png");
        chart.writePng(png, 900, 500);
        return new Report(rss, nat, heap, peak, versions, csv, png);
    }

    private static Sample sample(Child c, double minutes) {
        if (!c.alive()) {
            return null;
        }
        double rss = rssMb(c.pid());
        String metrics = c.kind == Child.Kind.BROKER ? null : c.metrics();
        double heapUsed = sum(metrics, "jvm_memory_used_bytes", "area=\"heap\"") / 1e6;
        double committed = (sum(metrics, "jvm_memory_committed_bytes", "area=\"heap\"")
                + sum(metrics, "jvm_memory_committed_bytes", "area=\"nonheap\"")) / 1e6;
        boolean stores = c.kind == Child.Kind.ADVANTAGE;
        double memtables = stores ? sum(metrics, "kafka_stream_state_size_all_mem_tables", "") / 1e6 : Double.NaN;
        double cache = stores ? max(metrics, "kafka_stream_state_block_cache_usage") / 1e6 : Double.NaN;
        return new Sample(c.name, minutes, rss, heapUsed, metrics == null ? Double.NaN : rss - committed, memtables,
                cache);
    }

    /** VmRSS of a process in MB, from /proc (Linux). */
    static double rssMb(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process just exited
        }
        return Double.NaN;
    }

    /** Sum of a metric's series whose labels contain {@code label}, in Prometheus text; NaN without metrics. */
    static double sum(String metrics, String name, String label) {
        if (metrics == null) {
            return Double.NaN;
        }
        double total = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{") && line.contains(label)) {
                total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return total;
    }

    /** Largest value among a metric's series, in Prometheus text; NaN without metrics or series. */
    static double max(String metrics, String name) {
        if (metrics == null) {
            return Double.NaN;
        }
        double max = Double.NaN;
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + "{")) {
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                max = Double.isNaN(max) ? v : Math.max(max, v);
            }
        }
        return max;
    }

    /** Least-squares slope of {@code y} over minutes, in MB per hour; NaN with fewer than 3 points. */
    static double slopePerHour(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> y) {
        List<Sample> ok = samples.stream().filter(s -> Double.isFinite(y.applyAsDouble(s))).toList();
        if (ok.size() < 3) {
            return Double.NaN;
        }
        double mx = ok.stream().mapToDouble(Sample::minutes).average().orElseThrow();
        double my = ok.stream().mapToDouble(y).average().orElseThrow();
        double num = 0;
        double den = 0;
        for (Sample s : ok) {
            num += (s.minutes() - mx) * (y.applyAsDouble(s) - my);
            den += (s.minutes() - mx) * (s.minutes() - mx);
        }
        return den == 0 ? Double.NaN : num / den * 60;
    }
}
