package io.rollout.learner.advantage;

import static io.rollout.learner.advantage.Steps.last;
import static io.rollout.learner.advantage.Steps.mid;
import static io.rollout.learner.advantage.Steps.step;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.learner.gigpo.Gigpo;
import io.rollout.learner.gigpo.GigpoConfig;
import io.rollout.learner.gigpo.GigpoResult;
import io.rollout.learner.gigpo.GigpoRow;
import io.rollout.records.DropReason;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.TerminalReason;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdvantageTopologyTest {

    static final TopicCatalog TOPICS = TopicCatalog.defaults();
    static final AdvantageConfig CONFIG = AdvantageConfig.defaults().withGroupTimeout(Duration.ofMinutes(5));

    @TempDir
    Path stateDir;

    SimpleMeterRegistry registry;
    TopologyTestDriver driver;
    TestInputTopic<String, Step> steps;
    TestInputTopic<byte[], byte[]> raw;
    TestOutputTopic<String, TrainingSample> samples;
    TestOutputTopic<String, DroppedGroup> dropped;
    TestOutputTopic<byte[], byte[]> dlq;
    Instant now = Instant.parse("2026-11-28T12:00:00Z");

    @BeforeEach
    void start() {
        registry = new SimpleMeterRegistry();
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "advantage-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        driver = new TopologyTestDriver(AdvantageTopology.build(TOPICS, CONFIG, new AdvantageMetrics(registry),
                "advantage-test"), props, now);
        steps = driver.createInputTopic(TOPICS.steps().name(), new StringSerializer(),
                AvroSerde.of(Step.class).serializer(), now, Duration.ofMillis(10));
        raw = driver.createInputTopic(TOPICS.steps().name(), new ByteArraySerializer(), new ByteArraySerializer());
        samples = driver.createOutputTopic(TOPICS.samples().name(), new StringDeserializer(),
                AvroSerde.of(TrainingSample.class).deserializer());
        dropped = driver.createOutputTopic(TOPICS.dropped().name(), new StringDeserializer(),
                AvroSerde.of(DroppedGroup.class).deserializer());
        dlq = driver.createOutputTopic(TOPICS.dlq().name(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    void send(Step s) {
        steps.pipeInput(s.getGroupId().toString(), s);
    }

    /** Group g of 2 episodes: episode 0 succeeds in 3 steps through a loop, episode 1 fails in 2. */
    static List<Step> twoEpisodes(String g, int attempt) {
        return List.of(
                mid(g, attempt, 2, 0, 0, "start", 0f),
                mid(g, attempt, 2, 0, 1, "room", 0f),
                last(g, attempt, 2, 0, 2, "start", 10f),
                mid(g, attempt, 2, 1, 0, "start", 0f),
                last(g, attempt, 2, 1, 1, "room", 0f));
    }

    static void assertAdvantagesOf(List<Step> rows, List<TrainingSample> out) {
        List<GigpoRow> input = rows.stream().map(s -> new GigpoRow(Integer.toString(s.getEpisode()), s.getT(),
                s.getAnchor().toString(), s.getReward(), s.getValid())).toList();
        List<GigpoResult> expected = Gigpo.compute(input, GigpoConfig.defaults());
        assertThat(out).hasSize(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            Step s = rows.get(i);
            TrainingSample sample = out.stream()
                    .filter(x -> x.getEpisode() == s.getEpisode() && x.getT() == s.getT()).findFirst().orElseThrow();
            assertThat((double) sample.getAdvantage()).isCloseTo(expected.get(i).advantage(), within(1e-5));
            assertThat((double) sample.getEpisodeAdvantage()).isCloseTo(expected.get(i).episodeAdvantage(), within(1e-5));
            assertThat((double) sample.getStepAdvantage()).isCloseTo(expected.get(i).stepAdvantage(), within(1e-5));
            assertThat(sample.getAnchorGroupSize()).isEqualTo(expected.get(i).anchorGroupSize());
            assertThat(sample.getResponseTokens()).isEqualTo(s.getResponseTokens());
            assertThat(sample.getOldLogProbs()).isEqualTo(s.getOldLogProbs());
            assertThat(sample.getPolicyVersion()).isEqualTo(s.getPolicyVersion());
            assertThat(sample.getGroupSamples()).as("samples the trainer waits for").isEqualTo(rows.size());
        }
    }

    double counter(String name, String tag, String value) {
        var c = registry.find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void shouldWriteOneSamplePerStepOnceEveryEpisodeIsDone() {
        List<Step> group = twoEpisodes("g1", 0);
        group.subList(0, 4).forEach(this::send);
        assertThat(samples.isEmpty()).isTrue();
        send(group.get(4));
        List<TrainingSample> out = samples.readValuesToList();
        assertAdvantagesOf(group, out);
        assertThat(out).extracting(TrainingSample::getEpisode, TrainingSample::getT)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0, 0), org.assertj.core.groups.Tuple.tuple(0, 1),
                        org.assertj.core.groups.Tuple.tuple(0, 2), org.assertj.core.groups.Tuple.tuple(1, 0),
                        org.assertj.core.groups.Tuple.tuple(1, 1));
        KeyValueStore<String, byte[]> stored = driver.getKeyValueStore(AdvantageTopology.STEPS_STORE);
        assertThat(stored.approximateNumEntries()).isZero();
        assertThat(driver.<String, GroupState>getKeyValueStore(AdvantageTopology.GROUPS_STORE).get("g1")).isNull();
        assertThat(registry.get("rollout.advantage.groups.completed").counter().count()).isEqualTo(1);
        assertThat(registry.get("rollout.advantage.samples.out").counter().count()).isEqualTo(5);
        assertThat(registry.get("rollout.advantage.groups.open").gauge().value()).isZero();
        assertThat(registry.get("rollout.advantage.anchor.group.size").summary().mean()).isEqualTo(2.5);
    }

    @Test
    void shouldWaitForMissingStepsWhenTheyArriveOutOfOrder() {
        List<Step> group = new ArrayList<>(twoEpisodes("g1", 0));
        java.util.Collections.reverse(group);
        group.subList(0, 4).forEach(this::send);
        assertThat(samples.isEmpty()).as("episode 0 still misses step 0").isTrue();
        send(group.get(4));
        assertAdvantagesOf(twoEpisodes("g1", 0), samples.readValuesToList());
    }

    @Test
    void shouldCountADuplicatedStepOnce() {
        List<Step> group = twoEpisodes("g1", 0);
        send(group.get(0));
        send(group.get(0));
        send(group.get(1));
        send(group.get(2));
        send(group.get(2));
        send(group.get(3));
        send(group.get(4));
        send(group.get(4)); // after completion: a late duplicate
        assertAdvantagesOf(group, samples.readValuesToList());
        assertThat(counter("rollout.advantage.steps.in", "outcome", "duplicate")).isEqualTo(2);
        assertThat(counter("rollout.advantage.steps.in", "outcome", "late")).isEqualTo(1);
        assertThat(counter("rollout.advantage.steps.in", "outcome", "accepted")).isEqualTo(5);
    }

    @Test
    void shouldKeepInterleavedGroupsApart() {
        List<Step> a = twoEpisodes("ga", 0);
        List<Step> b = new ArrayList<>(twoEpisodes("gb", 0));
        b.set(2, last("gb", 0, 2, 0, 2, "start", 0f)); // gb: both fail
        for (int i = 0; i < 5; i++) {
            send(a.get(i));
            send(b.get(i));
        }
        List<TestRecord<String, TrainingSample>> out = samples.readRecordsToList();
        assertAdvantagesOf(a, out.stream().filter(r -> r.key().equals("ga")).map(TestRecord::value).toList());
        assertAdvantagesOf(b, out.stream().filter(r -> r.key().equals("gb")).map(TestRecord::value).toList());
    }

    @Test
    void shouldNeverMixTwoAttemptsOfOneGroup() {
        List<Step> first = twoEpisodes("g1", 0);
        send(first.get(0));
        send(first.get(1));
        List<Step> second = new ArrayList<>(twoEpisodes("g1", 1));
        second.set(2, last("g1", 1, 2, 0, 2, "start", 0f));
        send(second.get(0));
        send(first.get(2)); // a straggler of attempt 0
        second.subList(1, 5).forEach(this::send);
        List<TrainingSample> out = samples.readValuesToList();
        assertThat(out).allMatch(s -> s.getAttempt() == 1);
        assertAdvantagesOf(second, out);
        assertThat(counter("rollout.advantage.groups.dropped", "reason", "superseded")).isEqualTo(1);
        assertThat(counter("rollout.advantage.steps.in", "outcome", "stale_attempt")).isEqualTo(1);
        assertThat(dropped.isEmpty()).as("a superseded attempt was already re-queued").isTrue();
    }

    @Test
    void shouldDropAGroupThatTimesOutAndIgnoreItsLaterSteps() {
        List<Step> group = twoEpisodes("g1", 2);
        group.subList(0, 3).forEach(this::send);
        // Stream time moves with the steps other groups' actors produce.
        steps.pipeInput("g2", mid("g2", 0, 2, 0, 0, "start", 0f), now.plus(Duration.ofMinutes(4)));
        driver.advanceWallClockTime(Duration.ofMinutes(5));
        assertThat(dropped.isEmpty()).isTrue();
        steps.pipeInput("g2", mid("g2", 0, 2, 0, 1, "room", 0f), now.plus(Duration.ofMinutes(5).plusSeconds(1)));
        driver.advanceWallClockTime(CONFIG.timeoutCheckInterval());
        DroppedGroup d = dropped.readValue();
        assertThat(d.getGroupId().toString()).isEqualTo("g1");
        assertThat(d.getAttempt()).isEqualTo(2);
        assertThat(d.getReason()).isEqualTo(DropReason.TIMEOUT);
        assertThat(d.getEpisodesFinished()).isEqualTo(1);
        assertThat(d.getGroupSize()).isEqualTo(2);
        group.subList(3, 5).forEach(this::send);
        assertThat(samples.isEmpty()).isTrue();
        assertThat(driver.getKeyValueStore(AdvantageTopology.STEPS_STORE).approximateNumEntries())
                .as("g2's two steps only").isEqualTo(2);
        assertThat(counter("rollout.advantage.groups.dropped", "reason", "timeout")).isEqualTo(1);
        assertThat(counter("rollout.advantage.steps.in", "outcome", "late")).isEqualTo(2);
        // A re-delivery of the same dispatch is not; the scheduler's re-queue is.
        twoEpisodes("g1", 3).forEach(this::send);
        assertThat(samples.isEmpty()).isTrue();
        int requeued = Attempts.delivery(1, 0);
        twoEpisodes("g1", requeued).forEach(this::send);
        assertThat(samples.readValuesToList()).hasSize(5).allMatch(s -> s.getAttempt() == requeued);
    }

    /**
     * The app stood still (broker outage) for longer than the group timeout while the group's
     * remaining steps, produced in time, waited in its input: they complete the group when
     * the app reads on; nothing is dropped.
     */
    @Test
    void shouldNotDropAGroupWhoseStepsWaitInTheInputBacklog() {
        List<Step> group = twoEpisodes("g1", 0);
        group.subList(0, 2).forEach(this::send);
        driver.advanceWallClockTime(Duration.ofMinutes(20));
        assertThat(dropped.isEmpty()).as("nothing was read in the meantime").isTrue();
        for (int i = 2; i < group.size(); i++) {
            steps.pipeInput("g1", group.get(i), now.plus(Duration.ofMinutes(1)));
            driver.advanceWallClockTime(CONFIG.timeoutCheckInterval());
        }
        assertThat(dropped.isEmpty()).isTrue();
        assertAdvantagesOf(group, samples.readValuesToList());
    }

    @Test
    void shouldIgnoreARedeliveryOfAGroupItAlreadyEmitted() {
        twoEpisodes("g1", Attempts.delivery(0, 4)).forEach(this::send);
        assertThat(samples.readValuesToList()).hasSize(5);
        // The actor died before committing the task; its re-delivery plays the group again.
        twoEpisodes("g1", Attempts.delivery(0, 5)).forEach(this::send);
        assertThat(samples.isEmpty()).isTrue();
        assertThat(counter("rollout.advantage.steps.in", "outcome", "stale_attempt")).isEqualTo(5);
    }

    @Test
    void shouldDropAGroupWithAnInfrastructureErrorAtOnce() {
        send(mid("g1", 0, 2, 0, 0, "start", 0f));
        send(step("g1", 0, 2, 1, 0, "start", 0f, true, true, TerminalReason.INFRA_ERROR));
        DroppedGroup d = dropped.readValue();
        assertThat(d.getReason()).isEqualTo(DropReason.INFRA_ERROR);
        assertThat(d.getAttempt()).isZero();
        send(last("g1", 0, 2, 0, 1, "room", 10f));
        assertThat(samples.isEmpty()).isTrue();
        assertThat(counter("rollout.advantage.groups.dropped", "reason", "infra_error")).isEqualTo(1);
    }

    @Test
    void shouldDeadLetterUndecodableAndInvalidRecordsAndGoOn() {
        raw.pipeInput("g9".getBytes(StandardCharsets.UTF_8), "{\"not\": \"avro\"}".getBytes(StandardCharsets.UTF_8));
        Step misKeyed = mid("g1", 0, 2, 0, 0, "start", 0f);
        steps.pipeInput("other-key", misKeyed);
        send(mid("g1", 0, 2, 5, 0, "start", 0f)); // episode outside the group
        send(mid("g1", 0, 2, 0, 2_000_000_000, "start", 0f)); // a step index that would cost 256 MB of state
        twoEpisodes("g1", 0).forEach(this::send);

        List<TestRecord<byte[], byte[]>> letters = dlq.readRecordsToList();
        assertThat(letters).hasSize(4);
        assertThat(DeadLetters.text(letters.get(3).headers(), DeadLetters.ERROR)).contains("step index 2000000000");
        TestRecord<byte[], byte[]> first = letters.get(0);
        assertThat(new String(first.value(), StandardCharsets.UTF_8)).isEqualTo("{\"not\": \"avro\"}");
        assertThat(new String(first.key(), StandardCharsets.UTF_8)).isEqualTo("g9");
        assertThat(DeadLetters.text(first.headers(), DeadLetters.SOURCE_TOPIC)).isEqualTo(TOPICS.steps().name());
        assertThat(DeadLetters.text(first.headers(), DeadLetters.SOURCE_PARTITION)).isEqualTo("0");
        assertThat(DeadLetters.text(first.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("0");
        assertThat(DeadLetters.text(first.headers(), DeadLetters.REASON)).isEqualTo("NOT_SINGLE_OBJECT");
        assertThat(DeadLetters.text(first.headers(), DeadLetters.SERVICE)).isEqualTo("advantage-test");
        assertThat(DeadLetters.text(letters.get(1).headers(), DeadLetters.REASON)).isEqualTo("INVALID");
        assertThat(DeadLetters.text(letters.get(1).headers(), DeadLetters.ERROR)).contains("other-key");
        assertThat(DeadLetters.text(letters.get(1).headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("1");
        assertThat(DeadLetters.text(letters.get(2).headers(), DeadLetters.ERROR)).contains("episode 5");
        assertAdvantagesOf(twoEpisodes("g1", 0), samples.readValuesToList());
        assertThat(counter("rollout.advantage.steps.in", "outcome", "dead_lettered")).isEqualTo(4);
    }

    @Test
    void shouldDeadLetterAStepThatContradictsItsEpisode() {
        send(last("g1", 0, 2, 0, 1, "room", 0f));
        send(mid("g1", 0, 2, 0, 3, "room", 0f)); // after the last step
        send(last("g1", 0, 2, 1, 2, "room", 0f));
        send(mid("g1", 0, 2, 1, 4, "room", 0f)); // after episode 1's end too
        List<TestRecord<byte[], byte[]>> letters = dlq.readRecordsToList();
        assertThat(letters).hasSize(2);
        assertThat(DeadLetters.text(letters.get(0).headers(), DeadLetters.ERROR)).contains("after its last step");
    }

    @Test
    void shouldForgetFinishedGroupsAfterTheRetention() {
        twoEpisodes("g1", 0).forEach(this::send);
        assertThat(samples.readValuesToList()).hasSize(5);
        KeyValueStore<String, byte[]> finished = driver.getKeyValueStore(AdvantageTopology.FINISHED_STORE);
        assertThat(finished.get("g1")).isNotNull();
        driver.advanceWallClockTime(CONFIG.finishedRetention().plusMinutes(10));
        assertThat(finished.get("g1")).isNull();
    }

    static <T> List<T> sorted(List<T> list, Comparator<T> order) {
        List<T> copy = new ArrayList<>(list);
        copy.sort(order);
        return copy;
    }
}
