package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.TaskDispatch;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.records.LoraConfig;
import io.rollout.records.TrainingSample;
import io.rollout.runtime.kafka.KafkaClients;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's delivery rules without a broker: where it starts reading, what a checkpoint
 * lets it resume from, dead letters and the resume offset, and version numbering, with Kafka's
 * mock clients, a fake publisher and a fixed topic identity. {@link TrainerServiceTest} and
 * {@link TrainerResumeTest} check the same service against the embedded broker.
 */
class TrainerDeliveryTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final TrainerCheckpoint.SampleSource SOURCE =
            new TrainerCheckpoint.SampleSource("cluster-a", "unit.train.samples", "topic-id-1", 2);

    static Policy policy;

    private final TopicCatalog topics = TopicCatalog.builder().prefix("unit.").build();
    private final TopicPartition p0 = new TopicPartition(topics.samples().name(), 0);
    private final TopicPartition p1 = new TopicPartition(topics.samples().name(), 1);
    private final List<TrainerService> services = new ArrayList<>();
    /** "version from checkpoint" of each start, as the listener is told. */
    private final List<String> starts = new CopyOnWriteArrayList<>();

    @TempDir
    Path dir;
    /** Reads the checkpoints the services write; each service opens its own store, as a restart does. */
    private CheckpointStore checkpoints;

    @BeforeEach
    void openStore() {
        checkpoints = new CheckpointStore(dir.resolve("checkpoints"), 100);
    }

    @BeforeAll
    static void load() {
        policy = TinyModel.load();
    }

    @AfterAll
    static void unload() {
        policy.close();
    }

    @AfterEach
    void closeServices() {
        services.forEach(TrainerService::close);
    }

    @Test
    void shouldReadEveryPartitionFromItsBeginningOnAFreshStart() {
        // Retention removed p0's first three samples: the beginning is 3, not 0.
        FakeKafka kafka = new FakeKafka(Map.of(p0, 3L, p1, 0L), SOURCE, new FakePublisher(-1));
        kafka.log(p0, 3, group("f", 2, 1));
        kafka.log(p1, 0, group("g", 2, 2));
        List<String> trained = new CopyOnWriteArrayList<>();

        start(kafka, trained);

        assertThat(kafka.consumer.seeks).as("no partition is given a position of its own").isEmpty();
        assertThat(kafka.consumer.seeksToBeginning).containsExactlyInAnyOrder(p0, p1);
        awaitTrue("both groups trained", () -> trained.size() == 2);
        assertThat(trained).extracting(TrainerDeliveryTest::groupOf).containsExactlyInAnyOrder("f@0", "g@0");
        assertThat(kafka.publisher.published).containsExactly(1L, 2L);
    }

    /**
     * The restart reads from exactly the checkpoint's offsets: the lowest untrained sample of
     * each partition, not the position. A group finished before the checkpoint is not trained
     * again when its samples are replayed or another attempt of it arrives late.
     */
    @Test
    void shouldResumeAtTheCheckpointedOffsetsAndNotRetrainGroupsFinishedBeforeIt() {
        List<TrainingSample> a = group("a", 2, 1);
        List<TrainingSample> b = group("b", 2, 2);
        List<TrainingSample> c = group("c", 2, 3);
        FakeKafka first = new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, new FakePublisher(-1));
        first.log(p0, 0, c.subList(0, 1));                 // 0: half of c
        first.log(p0, 1, a);                               // 1-2
        first.log(p1, 0, b);                               // 0-1
        List<String> trained = new CopyOnWriteArrayList<>();
        TrainerService service = start(first, trained);
        awaitTrue("a and b trained", () -> trained.size() == 2);
        stop(service);
        assertThat(trained).extracting(TrainerDeliveryTest::groupOf).containsExactlyInAnyOrder("a@0", "b@0");
        assertThat(checkpoint(2).sampleOffsets()).as("p0 resumes at the half of c, before the trained a")
                .isEqualTo(Map.of(0, 0L, 1, 2L));

        // The whole log again, as a broker holds it, with what arrived while the trainer was down.
        FakeKafka second = new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, first.publisher);
        second.log(p0, 0, c.subList(0, 1));
        second.log(p0, 1, a);
        second.log(p0, 3, c.subList(1, 2));                // 3: the rest of c
        second.log(p0, 4, group("a", 1, 2, 4));            // 4-5: a late attempt of the trained a
        second.log(p1, 0, b);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<String> retrained = new CopyOnWriteArrayList<>();
        TrainerService restarted = start(second, retrained, registry);

        assertThat(second.consumer.seeksToBeginning).isEmpty();
        assertThat(second.consumer.seeks).isEqualTo(Map.of(p0, 0L, p1, 2L));
        assertThat(starts).containsExactly("0 from null", "2 from 2");
        awaitTrue("c trained", () -> retrained.size() == 1);
        stop(restarted);
        assertThat(retrained).containsExactly("3:c@0");
        assertThat(registry.get("rollout.trainer.samples.ignored").counter().count())
                .as("a's replayed samples and both of its late attempt").isEqualTo(4);
    }

    @Test
    void shouldRefuseACheckpointOfAnotherTopicOrCluster() {
        TrainerService service = start(new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, new FakePublisher(-1)),
                new ArrayList<>());
        stop(service); // the checkpoint of version 0, bound to SOURCE

        List<TrainerCheckpoint.SampleSource> others = List.of(
                new TrainerCheckpoint.SampleSource("cluster-a", SOURCE.topic(), "topic-id-2", 2),
                new TrainerCheckpoint.SampleSource("cluster-b", SOURCE.topic(), SOURCE.topicId(), 2));
        List<String> reasons = List.of("was deleted and created again", "written against Kafka cluster cluster-a");
        for (int i = 0; i < others.size(); i++) {
            FakeKafka elsewhere = new FakeKafka(Map.of(p0, 0L, p1, 0L), others.get(i), new FakePublisher(-1));
            TrainerService refused = service(elsewhere, new ArrayList<>(), new SimpleMeterRegistry());
            assertThatThrownBy(refused::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot resume from checkpoint 0").hasMessageContaining(reasons.get(i));
            assertThat(elsewhere.consumersMade.get()).as("nothing is read").isZero();
            assertThat(elsewhere.publishersOpened.get()).as("nothing is published").isZero();
            assertThat(refused.healthy()).as("a refused start is a failure: restart").isFalse();
            assertThat(refused.ready()).isFalse();
        }
    }

    /** Restoring and loading can take long: alive (no restart) but not ready until started. */
    @Test
    void shouldBeAliveButNotReadyUntilStarted() {
        FakeKafka kafka = new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, new FakePublisher(-1));
        TrainerService service = service(kafka, new ArrayList<>(), new SimpleMeterRegistry());

        assertThat(service.healthy()).isTrue();
        assertThat(service.ready()).isFalse();

        service.start();

        assertThat(service.healthy()).isTrue();
        assertThat(service.ready()).isTrue();
        stop(service);
        assertThat(service.ready()).as("stopped").isFalse();
    }

    /**
     * An undecodable sample goes to the dead-letter topic. Until the broker acknowledges it, the
     * checkpoints resume at its offset (a crash then writes it again on replay); once
     * acknowledged they pass it; one the broker refused keeps holding its partition.
     */
    @Test
    void shouldNotCheckpointPastADeadLetterBeforeTheBrokerAcknowledgesIt() {
        FakeKafka kafka = new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, new FakePublisher(-1), false);
        byte[] junk = {1, 2, 3};
        kafka.logRaw(p0, 0, "junk-0".getBytes(StandardCharsets.UTF_8), junk);
        kafka.log(p0, 1, group("a", 2, 1));
        start(kafka, new ArrayList<>());

        awaitCheckpoint(1);
        assertThat(deadLetters(kafka)).hasSize(1);
        ProducerRecord<byte[], byte[]> letter = deadLetters(kafka).get(0);
        assertThat(letter.value()).isEqualTo(junk);
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.SOURCE_PARTITION)).isEqualTo("0");
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.SOURCE_OFFSET)).isEqualTo("0");
        assertThat(DeadLetters.text(letter.headers(), DeadLetters.REASON)).isEqualTo("NOT_SINGLE_OBJECT");
        assertThat(checkpoint(1).sampleOffsets()).as("a is trained, but its dead letter is not acknowledged yet")
                .containsEntry(0, 0L);

        assertThat(kafka.producer.completeNext()).isTrue();
        kafka.append(p1, 0, "junk-1".getBytes(StandardCharsets.UTF_8), junk);
        awaitTrue("p1's dead letter sent", () -> deadLetters(kafka).size() == 2);
        assertThat(kafka.producer.errorNext(new TimeoutException("no broker"))).isTrue();
        kafka.append(p1, 1, group("b", 2, 2));
        awaitCheckpoint(2);
        assertThat(checkpoint(2).sampleOffsets())
                .as("p0's dead letter acknowledged; p1's never written, so read again on restart")
                .isEqualTo(Map.of(0, 3L, 1, 0L));
    }

    /**
     * The newest checkpoint is older than what policy.weights holds (the process died between a
     * publish and its checkpoint): numbering goes on after the published version, as readers
     * ignore a version that is not newer than the one they have.
     */
    @Test
    void shouldNumberVersionsAfterTheNewestPublishedOne() {
        FakePublisher publisher = new FakePublisher(-1);
        stop(start(new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, publisher), new ArrayList<>()));
        publisher.last = 4; // versions 1-4 published by a run that died before its checkpoints

        FakeKafka second = new FakeKafka(Map.of(p0, 0L, p1, 0L), SOURCE, publisher);
        second.log(p0, 0, group("b", 2, 2));
        List<String> trained = new CopyOnWriteArrayList<>();
        TrainerService restarted = start(second, trained);
        assertThat(starts).containsExactly("0 from null", "4 from 0");
        awaitTrue("b trained", () -> trained.size() == 1);
        assertThat(restarted.failure()).isNull();
        assertThat(publisher.published).containsExactly(5L);
        assertThat(trained).containsExactly("5:b@0");
        awaitCheckpoint(5);
    }

    // ---------------------------------------------------------------- fixtures

    private TrainerService start(FakeKafka kafka, List<String> trained) {
        return start(kafka, trained, new SimpleMeterRegistry());
    }

    private TrainerService start(FakeKafka kafka, List<String> trained, SimpleMeterRegistry registry) {
        TrainerService service = service(kafka, trained, registry);
        service.start();
        return service;
    }

    /** One update per group, a checkpoint per version. */
    private TrainerService service(FakeKafka kafka, List<String> trained, SimpleMeterRegistry registry) {
        TrainerConfig config = TrainerConfig.defaults().withBatching(1, 8, 0);
        TrainerService.Settings settings = new TrainerService.Settings(1, 100, 1, "policy",
                LoraSpec.defaults("tiny").withRank(4), null, null, false, Duration.ofSeconds(20));
        TrainerService service = new TrainerService(policy, config, settings, topics, new Properties(),
                new CheckpointStore(dir.resolve("checkpoints"), 100),
                TaskDispatch.NONE, registry, Clock.systemUTC(), new TrainerService.Listener() {
                    @Override
                    public void started(long version, Long checkpointVersion) {
                        starts.add(version + " from " + checkpointVersion);
                    }

                    @Override
                    public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                        groups.forEach(g -> trained.add(version + ":" + g.key().groupId() + "@" + g.key().attempt()));
                    }
                }, kafka.edges());
        services.add(service);
        return service;
    }

    /** Closes the service (it writes its final checkpoint) and checks that it did not fail. */
    private void stop(TrainerService service) {
        services.remove(service);
        service.close();
        assertThat(service.failure()).isNull();
    }

    private void awaitCheckpoint(long version) {
        awaitTrue("checkpoint " + version,
                () -> checkpoints.latest().map(CheckpointStore::versionOf).orElse(-1L) >= version);
    }

    private TrainerCheckpoint checkpoint(long version) {
        Path path = checkpoints.checkpoints().stream().filter(p -> CheckpointStore.versionOf(p) == version)
                .findFirst().orElseThrow(() -> new AssertionError("no checkpoint of version " + version));
        return TrainerCheckpoint.read(path);
    }

    private List<ProducerRecord<byte[], byte[]>> deadLetters(FakeKafka kafka) {
        return kafka.producer.history().stream().filter(r -> r.topic().equals(topics.dlq().name())).toList();
    }

    /** {@code n} samples of one group attempt, at version 0. */
    private static List<TrainingSample> group(String id, int n, long seed) {
        return group(id, 0, n, seed);
    }

    private static List<TrainingSample> group(String id, int attempt, int n, long seed) {
        return SampleFeed.group(id, attempt, n, 0, seed);
    }

    /** "a@0" of "3:a@0". */
    private static String groupOf(String trained) {
        return trained.substring(trained.indexOf(':') + 1);
    }

    private static void awaitTrue(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /**
     * The trainer's Kafka for one start: a two-partition train.samples whose records are there
     * once the trainer assigns itself the partitions, a dead-letter producer, a topic identity
     * and a publisher; counts what the trainer opens.
     */
    private final class FakeKafka {
        final SampleConsumer consumer;
        final MockProducer<byte[], byte[]> producer;
        final FakePublisher publisher;
        final TrainerCheckpoint.SampleSource source;
        final AtomicInteger consumersMade = new AtomicInteger();
        final AtomicInteger publishersOpened = new AtomicInteger();

        FakeKafka(Map<TopicPartition, Long> beginnings, TrainerCheckpoint.SampleSource source,
                FakePublisher publisher) {
            this(beginnings, source, publisher, true);
        }

        /** {@code autoAck}: the broker acknowledges each dead letter at once; else only when told. */
        FakeKafka(Map<TopicPartition, Long> beginnings, TrainerCheckpoint.SampleSource source, FakePublisher publisher,
                boolean autoAck) {
            this.consumer = new SampleConsumer();
            consumer.updatePartitions(topics.samples().name(), List.of(
                    new PartitionInfo(p0.topic(), 0, null, null, null),
                    new PartitionInfo(p1.topic(), 1, null, null, null)));
            consumer.updateBeginningOffsets(beginnings);
            this.producer = new MockProducer<>(autoAck, null, new ByteArraySerializer(), new ByteArraySerializer());
            this.source = source;
            this.publisher = publisher;
        }

        TrainerService.Edges edges() {
            KafkaClients clients = new KafkaClients() {
                @Override
                public org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer(Properties settings) {
                    consumersMade.incrementAndGet();
                    return consumer;
                }

                @Override
                public org.apache.kafka.clients.producer.Producer<byte[], byte[]> producer(Properties settings) {
                    return producer;
                }
            };
            return new TrainerService.Edges(clients, () -> source, () -> {
                publishersOpened.incrementAndGet();
                return publisher;
            });
        }

        /** Samples on the log from {@code offset} on, before the trainer starts. */
        void log(TopicPartition tp, long offset, List<TrainingSample> samples) {
            for (TrainingSample s : samples) {
                consumer.log.add(sampleRecord(tp, offset++, s));
            }
        }

        void logRaw(TopicPartition tp, long offset, byte[] key, byte[] value) {
            consumer.log.add(new ConsumerRecord<>(tp.topic(), tp.partition(), offset, key, value));
        }

        /** Samples arriving while the trainer runs. */
        void append(TopicPartition tp, long offset, List<TrainingSample> samples) {
            for (TrainingSample s : samples) {
                consumer.addRecord(sampleRecord(tp, offset++, s));
            }
        }

        void append(TopicPartition tp, long offset, byte[] key, byte[] value) {
            consumer.addRecord(new ConsumerRecord<>(tp.topic(), tp.partition(), offset, key, value));
        }

        private ConsumerRecord<byte[], byte[]> sampleRecord(TopicPartition tp, long offset, TrainingSample s) {
            return new ConsumerRecord<>(tp.topic(), tp.partition(), offset,
                    s.getGroupId().toString().getBytes(StandardCharsets.UTF_8),
                    topics.samples().valueSerde().serializer().serialize(tp.topic(), s));
        }
    }

    /**
     * A mock consumer that holds a log before anything is assigned, remembers how each partition
     * was positioned, and whose empty polls wait a little, as a real one does, instead of spinning.
     */
    private static final class SampleConsumer extends MockConsumer<byte[], byte[]> {
        final List<ConsumerRecord<byte[], byte[]>> log = new ArrayList<>();
        final Map<TopicPartition, Long> seeks = new ConcurrentHashMap<>();
        final Set<TopicPartition> seeksToBeginning = ConcurrentHashMap.newKeySet();
        /**
         * MockConsumer seeks to the beginning offset itself, in seekToBeginning or in the next poll:
         * not a position the trainer chose.
         */
        private boolean positioningItself;

        SampleConsumer() {
            super("none"); // as the trainer's: every position is set by hand
        }

        @Override
        public synchronized void assign(Collection<TopicPartition> partitions) {
            super.assign(partitions);
            for (ConsumerRecord<byte[], byte[]> r : log) {
                if (partitions.contains(new TopicPartition(r.topic(), r.partition()))) {
                    addRecord(r);
                }
            }
        }

        @Override
        public synchronized void seek(TopicPartition partition, long offset) {
            if (!positioningItself) {
                seeks.put(partition, offset);
            }
            super.seek(partition, offset);
        }

        @Override
        public synchronized void seekToBeginning(Collection<TopicPartition> partitions) {
            seeksToBeginning.addAll(partitions);
            positioningItself = true;
            try {
                super.seekToBeginning(partitions);
            } finally {
                positioningItself = false;
            }
        }

        @Override
        public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            ConsumerRecords<byte[], byte[]> records;
            positioningItself = true;
            try {
                records = super.poll(timeout);
            } finally {
                positioningItself = false;
            }
            if (records.isEmpty()) {
                try {
                    wait(2); // releases the lock, so the test thread can add records meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return records;
        }
    }

    /** policy.weights as far as the trainer sees it: versions only increase, as WeightPublisher enforces. */
    private static final class FakePublisher implements TrainerService.VersionPublisher {
        final List<Long> published = new CopyOnWriteArrayList<>();
        volatile long last;

        FakePublisher(long last) {
            this.last = last;
        }

        @Override
        public long lastPublishedVersion() {
            return last;
        }

        @Override
        public synchronized void publish(long version, byte[] bytes, LoraConfig lora) {
            if (version <= last) {
                throw new IllegalArgumentException("version " + version + " is not above " + last);
            }
            published.add(version);
            last = version;
        }

        @Override
        public void close() {
        }
    }
}
