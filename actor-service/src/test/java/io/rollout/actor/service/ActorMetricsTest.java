package io.rollout.actor.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ActorMetricsTest {

    @Test
    void shouldRecordEachMergedGenerationCall() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ActorMetrics metrics = new ActorMetrics(registry, () -> 0);
        metrics.batchListener().merged(3, 24, TimeUnit.MILLISECONDS.toNanos(40));
        metrics.batchListener().merged(1, 8, TimeUnit.MILLISECONDS.toNanos(20));
        assertThat(registry.get("rollout.actor.generate.batch.duration").timer().totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(60);
        assertThat(registry.get("rollout.actor.generate.batch.requests").summary().totalAmount()).isEqualTo(4);
        assertThat(registry.get("rollout.actor.generate.batch.sequences").summary().max()).isEqualTo(24);
        assertThat(registry.get("rollout.actor.generate.batch.sequences").summary().getId().getBaseUnit())
                .isEqualTo("sequences");
    }
}
