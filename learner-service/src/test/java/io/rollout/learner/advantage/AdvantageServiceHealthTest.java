package io.rollout.learner.advantage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Liveness and readiness of the advantage app per Kafka Streams state, without a broker. */
class AdvantageServiceHealthTest {

    @Test
    void shouldBeAliveWhileStartingOrRebalancingAndReadyOnlyWhenRunning() {
        for (KafkaStreams.State state : KafkaStreams.State.values()) {
            boolean alive = state == KafkaStreams.State.CREATED || state == KafkaStreams.State.REBALANCING
                    || state == KafkaStreams.State.RUNNING;
            assertThat(AdvantageService.live(false, state)).as("live in %s", state).isEqualTo(alive);
            assertThat(AdvantageService.ready(false, state)).as("ready in %s", state)
                    .isEqualTo(state == KafkaStreams.State.RUNNING);
            assertThat(AdvantageService.live(true, state)).as("live once failed, in %s", state).isFalse();
            assertThat(AdvantageService.ready(true, state)).as("ready once failed, in %s", state).isFalse();
        }
    }

    @Test
    void shouldBeAliveButNotReadyBeforeItStarts(@TempDir Path stateDir) {
        Properties kafka = new Properties();
        // Nothing listens there; the app is never started, so it never connects.
        kafka.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
        AdvantageService service = new AdvantageService(TopicCatalog.defaults(), AdvantageConfig.defaults(),
                AdvantageService.streamsProperties(kafka, "health-test", stateDir, Duration.ofMillis(100), 1),
                new SimpleMeterRegistry());
        try {
            assertThat(service.state()).isEqualTo(KafkaStreams.State.CREATED);
            assertThat(service.healthy()).isTrue();
            assertThat(service.ready()).isFalse();
        } finally {
            service.close();
        }
    }
}
