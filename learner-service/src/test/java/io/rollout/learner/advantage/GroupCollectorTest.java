package io.rollout.learner.advantage;

import static io.rollout.learner.advantage.AdvantageTopologyTest.CONFIG;
import static io.rollout.learner.advantage.AdvantageTopologyTest.TOPICS;
import static io.rollout.learner.advantage.AdvantageTopologyTest.twoEpisodes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.records.Step;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Attempts;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The collector's finished marks in its store: their layout, and a malformed one. */
class GroupCollectorTest {

    @TempDir
    Path stateDir;

    Instant now = Instant.parse("2026-11-28T12:00:00Z");
    TopologyTestDriver driver;
    TestInputTopic<String, Step> steps;
    KeyValueStore<String, byte[]> finished;

    @BeforeEach
    void start() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "advantage-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(AdvantageTopology.build(TOPICS, CONFIG,
                new AdvantageMetrics(new SimpleMeterRegistry()), "advantage-test"), props, now);
        steps = driver.createInputTopic(TOPICS.steps().name(), new StringSerializer(),
                AvroSerde.of(Step.class).serializer(), now, Duration.ofMillis(10));
        finished = driver.getKeyValueStore(AdvantageTopology.FINISHED_STORE);
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void shouldMarkAFinishedGroupWithItsAttemptAndTimeInTwelveBytes() {
        int attempt = Attempts.delivery(2, 9);
        twoEpisodes("g1", attempt).forEach(s -> steps.pipeInput("g1", s));
        assertThat(finished.get("g1")).isEqualTo(FinishedMarkTest.handMade(attempt, now.toEpochMilli()));
    }

    @Test
    void shouldRefuseAMalformedFinishedMarkAsCorruptState() {
        finished.put("g1", new byte[] {0, 0, 0});
        assertThatThrownBy(() -> steps.pipeInput("g1", twoEpisodes("g1", 0).get(0)))
                .satisfies(e -> assertThat(causes(e)).anySatisfy(c -> assertThat(c)
                        .isInstanceOf(SerializationException.class)
                        .hasMessage("corrupt finished mark of group g1")))
                .hasRootCauseInstanceOf(IllegalArgumentException.class)
                .hasRootCauseMessage("a finished mark is 12 bytes, got 3");
    }

    @Test
    void shouldFailOnAMalformedFinishedMarkWhenForgettingOldMarks() {
        finished.put("g1", new byte[] {0, 0, 0, 1});
        assertThatThrownBy(() -> driver.advanceWallClockTime(CONFIG.finishedRetention()))
                .hasRootCauseMessage("a finished mark is 12 bytes, got 4");
    }

    static List<Throwable> causes(Throwable e) {
        List<Throwable> all = new ArrayList<>();
        for (Throwable c = e; c != null; c = c.getCause()) {
            all.add(c);
        }
        return all;
    }
}
