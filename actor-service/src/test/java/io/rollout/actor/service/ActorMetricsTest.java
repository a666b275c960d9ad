package io.rollout.actor.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.policy.sampling.ContinuousBatcher;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ActorMetricsTest {

    @Test
    void shouldRecordTheDecodeBatchesWork() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ActorMetrics metrics = new ActorMetrics(registry, () -> 0);
        ContinuousBatcher.Listener listener = metrics.batchListener();
        listener.decoded(24, 30, TimeUnit.MILLISECONDS.toNanos(4));
        listener.decoded(8, 8, TimeUnit.MILLISECONDS.toNanos(2));
        listener.admitted(2, 16, TimeUnit.MILLISECONDS.toNanos(9));
        assertThat(registry.get("rollout.actor.decode.step").timer().totalTime(TimeUnit.MILLISECONDS)).isEqualTo(6);
        assertThat(registry.get("rollout.actor.decode.batch").summary().max()).isEqualTo(24);
        assertThat(registry.get("rollout.actor.decode.batch").summary().totalAmount()).isEqualTo(32);
        assertThat(registry.get("rollout.actor.decode.batch").summary().getId().getBaseUnit()).isEqualTo("sequences");
        assertThat(registry.get("rollout.actor.decode.prefill").timer().count()).isEqualTo(1);
    }
}
