package io.rollout.learner.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SchedulerMetricsTest {

    /**
     * The meters hold the scheduler they read, so a final scrape after the service let go of it
     * (or a garbage collection in between) still reports its counts instead of 0 or NaN.
     */
    @Test
    void shouldReportTheSchedulersCountsAfterItsOwnerLetGo() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        register(registry);

        for (int i = 0; i < 3; i++) {
            System.gc();
        }

        assertThat(registry.get("rollout.scheduler.tasks.dispatched").functionCounter().count()).isEqualTo(3);
        assertThat(registry.get("rollout.scheduler.groups.in.flight").gauge().value()).isEqualTo(3);
    }

    private static void register(SimpleMeterRegistry registry) {
        TaskScheduler scheduler = TaskSchedulerTest.scheduler(3, 3, Duration.ZERO);
        new SchedulerMetrics(registry, scheduler);
        scheduler.poll(1, 1000);
    }
}
