package io.rollout.learner.advantage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.rollout.records.DropReason;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The advantage app's meters. Counts are per process; open groups and stored steps are
 * summed over the stream tasks this process runs.
 */
public final class AdvantageMetrics {

    /** The drop reason of a group whose newer attempt replaced it, beside the record's DropReasons. */
    static final String SUPERSEDED = "superseded";

    /** What happened to an incoming step record. */
    enum StepOutcome {
        ACCEPTED, DUPLICATE, STALE_ATTEMPT, LATE, DEAD_LETTERED;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final Map<StepOutcome, Counter> steps = new ConcurrentHashMap<>();
    private final Map<String, Counter> dropped = new ConcurrentHashMap<>();
    private final MeterRegistry registry;
    private final Counter completed;
    private final Counter samplesOut;
    private final Timer completionLatency;
    private final DistributionSummary anchorGroupSize;
    private final AtomicLong rows = new AtomicLong();
    private final AtomicLong singletonRows = new AtomicLong();
    private final Map<String, Long> openGroups = new ConcurrentHashMap<>();
    private final Map<String, Long> storedSteps = new ConcurrentHashMap<>();

    public AdvantageMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (StepOutcome o : StepOutcome.values()) {
            steps.put(o, Counter.builder("rollout.advantage.steps.in")
                    .description("Step records read from rollout.steps, by what became of them")
                    .tag("outcome", o.tag()).register(registry));
        }
        completed = Counter.builder("rollout.advantage.groups.completed")
                .description("Groups whose samples were written").register(registry);
        samplesOut = Counter.builder("rollout.advantage.samples.out")
                .description("Training samples written to train.samples").register(registry);
        completionLatency = Timer.builder("rollout.advantage.group.completion.latency")
                .description("From the timestamp of a group's last step record to its samples being written")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(5))
                .register(registry);
        anchorGroupSize = DistributionSummary.builder("rollout.advantage.anchor.group.size")
                .description("Rows per anchor group (steps of one group that share an anchor state)")
                .baseUnit("steps").register(registry);
        Gauge.builder("rollout.advantage.anchor.singleton.fraction", this, AdvantageMetrics::singletonFraction)
                .description("Fraction of rows whose anchor group has one row (their step advantage is 0)")
                .register(registry);
        Gauge.builder("rollout.advantage.groups.open", openGroups, m -> sum(m))
                .description("Groups with steps stored, waiting for their other episodes")
                .register(registry);
        Gauge.builder("rollout.advantage.store.steps", storedSteps, m -> sum(m))
                .description("Steps held in the state store").register(registry);
        // Every reason from the start, so that a rate reads 0 rather than nothing before a drop.
        for (DropReason reason : DropReason.values()) {
            droppedCounter(reason.name().toLowerCase(Locale.ROOT));
        }
        droppedCounter(SUPERSEDED);
    }

    void step(StepOutcome outcome) {
        steps.get(outcome).increment();
    }

    void dropped(String reason) {
        droppedCounter(reason).increment();
    }

    private Counter droppedCounter(String reason) {
        return dropped.computeIfAbsent(reason, r -> Counter.builder("rollout.advantage.groups.dropped")
                .description("Groups dropped whole, by reason").tag("reason", r)
                .register(registry));
    }

    void completed(int samples, long latencyMs, int[] anchorGroupSizes) {
        completed.increment();
        samplesOut.increment(samples);
        completionLatency.record(Math.max(0, latencyMs), TimeUnit.MILLISECONDS);
        for (int size : anchorGroupSizes) {
            anchorGroupSize.record(size);
            rows.addAndGet(size);
            if (size == 1) {
                singletonRows.incrementAndGet();
            }
        }
    }

    /** Open groups and stored steps of one stream task, as of now. */
    void taskGauges(String task, long open, long stored) {
        openGroups.put(task, open);
        storedSteps.put(task, stored);
    }

    void taskClosed(String task) {
        openGroups.remove(task);
        storedSteps.remove(task);
    }

    private double singletonFraction() {
        long all = rows.get();
        return all == 0 ? 0 : (double) singletonRows.get() / all;
    }

    private static double sum(Map<String, Long> m) {
        return m.values().stream().mapToLong(Long::longValue).sum();
    }
}
