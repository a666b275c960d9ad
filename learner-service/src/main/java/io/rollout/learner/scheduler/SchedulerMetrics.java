package io.rollout.learner.scheduler;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.ToLongFunction;

/**
 * The scheduler's meters. The counters read the {@link TaskScheduler}'s own counts, which a
 * restored scheduler carries over, so they count the run, not just this process. They hold the
 * scheduler strongly (Micrometer holds it weakly by default), so a last scrape after the service
 * has let go of it still reads its counts instead of 0 or NaN.
 */
public final class SchedulerMetrics {

    private final MeterRegistry registry;

    public SchedulerMetrics(MeterRegistry registry, TaskScheduler scheduler) {
        this.registry = registry;
        Gauge.builder("rollout.scheduler.groups.in.flight", scheduler, TaskScheduler::inFlight)
                .description("Groups dispatched and not yet trained on, discarded, dropped or given up")
                .baseUnit("groups").strongReference(true).register(registry);
        count(scheduler, "rollout.scheduler.tasks.dispatched", "tasks", SchedulerCounters::dispatched,
                "Tasks produced to rollout.tasks, first attempts and re-queues");
        count(scheduler, "rollout.scheduler.groups.requeued", "groups", SchedulerCounters::requeued,
                "Groups re-queued as a new attempt after a drop or a timeout");
        count(scheduler, "rollout.scheduler.groups.abandoned", "groups", SchedulerCounters::abandoned,
                "Groups given up after the maximum number of re-queues");
        count(scheduler, "rollout.scheduler.drops.ignored", "groups", SchedulerCounters::staleDrops,
                "Drops ignored because the group is unknown or at another attempt");
        count(scheduler, "rollout.scheduler.groups.timed.out", "groups", SchedulerCounters::timedOut,
                "Groups in flight longer than the task timeout");
        count(scheduler, "rollout.scheduler.groups.trained", "groups", SchedulerCounters::trained,
                "Groups the trainer trained on");
        count(scheduler, "rollout.scheduler.groups.discarded", "groups", SchedulerCounters::discarded,
                "Groups the trainer discarded as too stale");
    }

    private void count(TaskScheduler scheduler, String name, String unit, ToLongFunction<SchedulerCounters> value,
            String description) {
        // The function reads the captured scheduler rather than its argument, so the meter holds
        // the scheduler strongly (FunctionCounter.Builder has no strongReference option).
        FunctionCounter.builder(name, scheduler, s -> value.applyAsLong(scheduler.counters()))
                .description(description).baseUnit(unit).register(registry);
    }

    /** Counts a record that could not be decoded, by topic. */
    void undecodable(String topic) {
        Counter.builder("rollout.scheduler.records.undecodable")
                .description("Records on rollout.dropped or rollout.tasks that could not be decoded and were skipped")
                .baseUnit("records").tag("topic", topic).register(registry).increment();
    }
}
