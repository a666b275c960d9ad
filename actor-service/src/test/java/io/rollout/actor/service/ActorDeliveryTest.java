package io.rollout.actor.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.TaskPlayer;
import io.rollout.records.Step;
import io.rollout.records.StepTimings;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.runtime.kafka.KafkaClients;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The actor's delivery rules without a broker: claims, the commit frontier, revocations, the
 * drain and dead letters, with Kafka's mock clients, a scripted player and a manual clock.
 * {@link ActorServiceTest} checks the same service against the embedded broker.
 */
class ActorDeliveryTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String ACTOR = "actor-unit";

    private final TopicCatalog topics = TopicCatalog.builder().prefix("unit.").build();
    private final TopicPartition p0 = new TopicPartition(topics.tasks().name(), 0);
    private final TopicPartition p1 = new TopicPartition(topics.tasks().name(), 1);
    private PollingMock consumer;
    private MockProducer<byte[], byte[]> producer;
    private final ScriptedPlayer player = new ScriptedPlayer();
    private final AtomicLong clock = new AtomicLong();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private ActorService service;

    @BeforeEach
    void start() {
        start(true);
    }

    /** Starts the service; {@code autoAck}: the broker acknowledges each send at once. */
    private void start(boolean autoAck) {
        if (service != null) {
            service.close();
        }
        consumer = new PollingMock();
        producer = new MockProducer<>(autoAck, null, new ByteArraySerializer(), new ByteArraySerializer());
        consumer.updateBeginningOffsets(Map.of(p0, 0L, p1, 0L));
        KafkaClients clients = new KafkaClients() {
            @Override
            public org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer(Properties settings) {
                return consumer;
            }

            @Override
            public org.apache.kafka.clients.producer.Producer<byte[], byte[]> producer(Properties settings) {
                return producer;
            }
        };
        service = new ActorService(player, AdapterRef.base(), null,
                new ActorService.Settings(ACTOR, "actors", 2, Duration.ofSeconds(30)), topics, new Properties(),
                new ActorMetrics(registry, () -> 0), clock::get, clients);
        service.start();
    }

    @AfterEach
    void stop() {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void shouldClaimAPartitionBeforeTakingTasksAndRaiseTheCounterOnEveryClaim() {
        assign(p0);
        awaitTrue("p0 claimed", () -> committed(p0) != null);
        assertThat(committed(p0).offset()).isZero();
        assertThat(committed(p0).metadata()).isEqualTo("assignments=1;actor=" + ACTOR);

        assign(); // revoked
        assign(p0);
        awaitTrue("p0 claimed again", () -> committed(p0).metadata().startsWith("assignments=2"));

        addTask(p0, 0, task("g0", 3));
        awaitTrue("g0 committed", () -> committed(p0).offset() == 1);
        assertThat(steps()).allMatch(s -> s.getAttempt() == Attempts.delivery(3, 2));
        assertThat(committed(p0).metadata()).isEqualTo("assignments=2;actor=" + ACTOR);
    }

    @Test
    void shouldBeReadyOnlyOnceTheConsumerHasJoinedTheGroupEvenWithNoPartitions() {
        sleepThroughLoops();
        assertThat(service.healthy()).as("polling").isTrue();
        assertThat(service.ready()).as("not a member of the group yet").isFalse();

        assign(); // joined, but all partitions went to other actors
        awaitTrue("ready once joined", service::ready);
        assertThat(registry.get("rollout.actor.ready").gauge().value()).isEqualTo(1.0);
    }

    @Test
    void shouldCommitOnlyUpToTheOldestTaskNotFinished() {
        CountDownLatch slow = player.hold("slow");
        assign(p0);
        awaitTrue("claimed", () -> committed(p0) != null);
        addTask(p0, 0, task("slow", 0));
        addTask(p0, 1, task("fast-1", 0));
        addTask(p0, 2, task("fast-2", 0));

        awaitTrue("both fast groups published", () -> groupsPublished().containsAll(List.of("fast-1", "fast-2")));
        sleepThroughLoops();
        assertThat(committed(p0).offset()).as("nothing passes the slow task at offset 0").isZero();

        slow.countDown();
        awaitTrue("all committed", () -> committed(p0).offset() == 3);
        assertThat(tasks("completed")).isEqualTo(3);
    }

    @Test
    void shouldGiveUpTheTasksOfARevokedPartitionAndCommitOnlyWhatIsDone() {
        CountDownLatch slow = player.hold("slow");
        assign(p0, p1);
        awaitTrue("claimed", () -> committed(p0) != null && committed(p1) != null);
        addTask(p1, 0, task("kept", 0));
        awaitTrue("kept committed", () -> committed(p1).offset() == 1);
        addTask(p0, 0, task("done", 0));
        addTask(p0, 1, task("slow", 0));
        awaitTrue("done published and slow started", () -> groupsPublished().contains("done") && player.started("slow"));

        assign(p1); // p0 revoked while "slow" plays
        awaitTrue("slow abandoned", () -> tasks("abandoned") == 1);
        slow.countDown();
        sleepThroughLoops();

        assertThat(committed(p0).offset()).as("done committed on revocation, slow left for the next owner").isEqualTo(1);
        assertThat(stepsOf("slow")).as("an abandoned task publishes nothing after the revocation").isEmpty();
        assertThat(service.healthy()).isTrue();
    }

    @Test
    void shouldDeadLetterUnreadableAndInvalidTasksWithTheirReasonAndCommitPastThem() {
        assign(p0);
        awaitTrue("claimed", () -> committed(p0) != null);
        consumer.schedulePollTask(() -> consumer.addRecord(new ConsumerRecord<>(p0.topic(), 0, 0,
                "k".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xff, 1, 2})));
        addTask(p0, 1, Task.newBuilder(task("no-episodes", 0)).setGroupSize(0).build());
        addTask(p0, 2, task("after", 0));

        awaitTrue("all committed", () -> committed(p0).offset() == 3);
        List<ProducerRecord<byte[], byte[]>> letters = producer.history().stream()
                .filter(r -> r.topic().equals(topics.dlq().name())).toList();
        assertThat(letters).extracting(r -> DeadLetters.text(r.headers(), DeadLetters.REASON))
                .containsExactly("NOT_SINGLE_OBJECT", DeadLetters.INVALID);
        assertThat(letters).extracting(r -> DeadLetters.text(r.headers(), DeadLetters.SOURCE_OFFSET))
                .containsExactly("0", "1");
        assertThat(tasks("dead_lettered")).isEqualTo(2);
        assertThat(tasks("completed")).isEqualTo(1);
    }

    @Test
    void shouldFinishTheGroupInPlayOnCloseAndGiveBackWhatIsNotStarted() throws Exception {
        CountDownLatch slow = player.hold("slow");
        assign(p0);
        awaitTrue("claimed", () -> committed(p0) != null);
        addTask(p0, 0, task("slow", 0));
        awaitTrue("slow started", () -> player.started("slow"));

        Thread closing = new Thread(service::close);
        closing.start();
        awaitTrue("draining", () -> !service.healthy());
        slow.countDown();
        closing.join(WAIT.toMillis());

        assertThat(closing.isAlive()).isFalse();
        assertThat(committed(p0).offset()).isEqualTo(1);
        assertThat(stepsOf("slow")).hasSize(2);
    }

    @Test
    void shouldGiveBackAGroupStillInPlayWhenTheDrainDeadlinePasses() throws Exception {
        player.hold("stuck");
        assign(p0);
        awaitTrue("claimed", () -> committed(p0) != null);
        addTask(p0, 0, task("stuck", 0));
        awaitTrue("stuck started", () -> player.started("stuck"));

        Thread closing = new Thread(service::close);
        closing.start();
        awaitTrue("draining", () -> !service.healthy());
        // Past the 30 s drain timeout, however late close() reads the clock to set its deadline.
        awaitTrue("closed", () -> {
            clock.addAndGet(Duration.ofSeconds(31).toNanos());
            return !closing.isAlive();
        });

        assertThat(closing.isAlive()).isFalse();
        assertThat(committed(p0).offset()).as("the stuck group is left for another actor").isZero();
        assertThat(tasks("abandoned")).isEqualTo(1);
    }

    @Test
    void shouldReportKafkaUnavailableAndSendTheSameStepAgainWhenASendTimesOut() {
        start(false); // again, with a broker that acknowledges only when told
        assign(p0);
        awaitTrue("claimed", () -> committed(p0) != null);
        addTask(p0, 0, task("g", 0));
        awaitTrue("both steps sent", () -> steps().size() == 2);

        producer.errorNext(new org.apache.kafka.common.errors.TimeoutException("no broker"));
        awaitTrue("Kafka reported unavailable", () -> !service.kafkaAvailable());
        assertThat(service.ready()).isFalse();
        // Past the backoff, however late the job thread reads the clock to set its deadline: the
        // clock moves on while the test waits, as it would for real.
        awaitTrue("the step sent again", () -> {
            clock.addAndGet(Duration.ofMinutes(1).toNanos());
            return steps().size() == 3;
        });
        assertThat(producer.history().get(2).value()).as("the same step, same attempt")
                .isEqualTo(producer.history().get(0).value());
        assertThat(committed(p0).offset()).as("nothing committed before every step is acknowledged").isZero();

        while (producer.completeNext()) {
            // the broker is back: acknowledge what is pending
        }
        awaitTrue("committed", () -> committed(p0).offset() == 1);
        assertThat(service.kafkaAvailable()).isTrue();
        assertThat(service.failure()).isNull();
    }

    // ---------------------------------------------------------------- fixtures

    /** Assigns exactly {@code partitions} on the poll thread, as a rebalance would. */
    private void assign(TopicPartition... partitions) {
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(partitions)));
    }

    private void addTask(TopicPartition tp, long offset, Task task) {
        byte[] value = topics.tasks().valueSerde().serializer().serialize(tp.topic(), task);
        consumer.schedulePollTask(() -> consumer.addRecord(new ConsumerRecord<>(tp.topic(), tp.partition(), offset,
                task.getGroupId().toString().getBytes(StandardCharsets.UTF_8), value)));
    }

    private static Task task(String group, int attempt) {
        return Task.newBuilder().setGroupId(group).setEnv("sokoban").setEnvConfig(Map.of()).setSeed(1)
                .setGroupSize(2).setMaxSteps(3).setAttempt(attempt).setPolicyVersion(0).setCreatedAtMs(0).build();
    }

    private OffsetAndMetadata committed(TopicPartition tp) {
        return consumer.commits.get(tp);
    }

    private List<Step> steps() {
        return producer.history().stream().filter(r -> r.topic().equals(topics.steps().name()))
                .map(r -> topics.steps().valueSerde().deserializer().deserialize(r.topic(), r.value())).toList();
    }

    private List<Step> stepsOf(String group) {
        return steps().stream().filter(s -> s.getGroupId().toString().equals(group)).toList();
    }

    private List<String> groupsPublished() {
        return steps().stream().map(s -> s.getGroupId().toString()).distinct().toList();
    }

    private double tasks(String outcome) {
        return registry.get("rollout.actor.tasks").tag("outcome", outcome).counter().count();
    }

    /** Long enough for the poll loop to turn many times (it polls every few milliseconds here). */
    private static void sleepThroughLoops() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

    /** A mock consumer whose empty polls wait a little, as a real one does, instead of spinning. */
    private static final class PollingMock extends MockConsumer<byte[], byte[]> {
        /** The last commit of each partition, readable after the consumer is closed. */
        final Map<TopicPartition, OffsetAndMetadata> commits = new ConcurrentHashMap<>();

        PollingMock() {
            super("earliest");
        }

        @Override
        public void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
            super.commitSync(offsets, timeout);
            commits.putAll(offsets);
        }

        @Override
        public synchronized ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
            ConsumerRecords<byte[], byte[]> records = super.poll(timeout);
            if (records.isEmpty()) {
                try {
                    wait(2); // releases the lock, so the test thread can schedule work meanwhile
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return records;
        }
    }

    /** Plays two one-step episodes per task; a held group waits for its latch before its steps. */
    private static final class ScriptedPlayer implements TaskPlayer {
        private final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
        private final Map<String, Boolean> started = new ConcurrentHashMap<>();

        CountDownLatch hold(String group) {
            return holds.computeIfAbsent(group, g -> new CountDownLatch(1));
        }

        boolean started(String group) {
            return started.containsKey(group);
        }

        @Override
        public void play(Task task, AdapterRef adapter, Consumer<Step> sink) {
            String group = task.getGroupId().toString();
            started.put(group, true);
            CountDownLatch latch = holds.get(group);
            if (latch != null) {
                try {
                    while (!latch.await(10, TimeUnit.MILLISECONDS)) {
                        // waiting for the test
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            for (int e = 0; e < task.getGroupSize(); e++) {
                sink.accept(step(task, e));
            }
        }

        @Override
        public void probeEnv() {
        }

        private static Step step(Task task, int episode) {
            return Step.newBuilder()
                    .setGroupId(task.getGroupId()).setEpisode(episode).setGroupSize(task.getGroupSize())
                    .setAttempt(task.getAttempt()).setT(0).setEnv(task.getEnv()).setAnchor("s0")
                    .setPromptTokens(ByteBuffer.allocate(0)).setResponseTokens(ByteBuffer.allocate(0))
                    .setOldLogProbs(ByteBuffer.allocate(0)).setReward(1f).setValid(true).setDone(true)
                    .setTerminalReason(TerminalReason.SUCCESS).setPolicyVersion(0).setActorId(ACTOR)
                    .setTimings(StepTimings.newBuilder().setGenerateMicros(0).setEnvMicros(0).setCreatedAtMs(0)
                            .build())
                    .build();
        }
    }
}
