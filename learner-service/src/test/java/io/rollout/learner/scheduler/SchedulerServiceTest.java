package io.rollout.learner.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.records.DropReason;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Task;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The scheduler service against the shared embedded broker; each test has its own topics. */
class SchedulerServiceTest {

    static final AtomicInteger RUNS = new AtomicInteger();
    static final TaskDistribution TASKS = TaskDistribution.parse(List.of("env=sokoban,seeds=0-1000,group-size=4"));
    static final SchedulerConfig CONFIG = new SchedulerConfig(4, 2, 1, 3, Duration.ofMinutes(30), "it");

    TopicCatalog topics;
    /** The trainer's version the tasks start at. */
    static final long TRAINER_VERSION = 3;

    @BeforeEach
    void createTopics() throws Exception {
        topics = TopicCatalog.builder().prefix("it-scheduler-" + RUNS.incrementAndGet() + "-" + System.nanoTime() + ".")
                .build();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                SharedKafkaBroker.bootstrapServers()))) {
            new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(60))
                    .ensure(List.of(topics.tasks(), topics.dropped()));
        }
    }

    SchedulerService service(TaskScheduler scheduler, SimpleMeterRegistry registry) {
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        SchedulerService service = new SchedulerService(kafka, topics, scheduler, Clock.systemUTC(), registry);
        service.versionChanged(TRAINER_VERSION);
        return service;
    }

    /**
     * An Error in the scheduler's thread (here from its clock) is kept and reported, instead of
     * ending the thread silently while the trainer goes on without tasks.
     */
    @Test
    void shouldReportAnErrorThatStopsItsThread() throws Exception {
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        AtomicInteger calls = new AtomicInteger();
        Clock failing = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                if (calls.incrementAndGet() > 2) {
                    throw new AssertionError("injected");
                }
                return java.time.Instant.EPOCH;
            }
        };
        try (SchedulerService service = new SchedulerService(kafka, topics, new TaskScheduler(CONFIG, TASKS, 1), failing,
                new SimpleMeterRegistry())) {
            service.start(null);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (service.failure() == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(service.failure()).isInstanceOf(AssertionError.class).hasMessage("injected");
            // The checkpoint needs no broker round trip: it is taken from what was acknowledged.
            assertThat(service.checkpoint().taskEndOffsets().values().stream().mapToLong(Long::longValue).sum())
                    .isEqualTo(4);
        }
    }

    @Test
    void shouldProduceTasksKeyedByGroupId() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (SchedulerService service = service(new TaskScheduler(CONFIG, TASKS, 1), registry)) {
            service.recover(null);
            service.tick();
            service.tick();
        }

        List<ConsumerRecord<String, Task>> tasks = readTasks(4);
        assertThat(tasks).extracting(ConsumerRecord::key)
                .containsExactlyInAnyOrder("it-00000000", "it-00000001", "it-00000002", "it-00000003");
        assertThat(tasks).allSatisfy(r -> {
            assertThat(r.value().getGroupId()).isEqualTo(r.key());
            assertThat(r.value().getPolicyVersion()).isEqualTo(3);
            assertThat(r.value().getAttempt()).isZero();
        });
        assertThat(registry.get("rollout.scheduler.tasks.dispatched").functionCounter().count()).isEqualTo(4);
        assertThat(registry.get("rollout.scheduler.groups.in.flight").gauge().value()).isEqualTo(4);
    }

    @Test
    void shouldRequeueAGroupDroppedOnTheDroppedTopic() {
        TaskScheduler scheduler = new TaskScheduler(CONFIG, TASKS, 1);
        try (SchedulerService service = service(scheduler, new SimpleMeterRegistry())) {
            service.recover(null);
            service.tick();
            service.versionChanged(4);

            sendDropped(drop("it-00000001", 0));
            tickUntil(service, () -> scheduler.counters().requeued() == 1);
        }

        List<ConsumerRecord<String, Task>> tasks = readTasks(5);
        Task first = only(tasks, "it-00000001", 0);
        Task again = only(tasks, "it-00000001", 1);
        assertThat(again.getSeed()).isEqualTo(first.getSeed());
        assertThat(again.getEnv()).isEqualTo(first.getEnv());
        assertThat(again.getPolicyVersion()).isEqualTo(4);
        assertThat(scheduler.inFlight()).isEqualTo(4);
    }

    @Test
    void shouldSkipAndCountAnUndecodableDrop() {
        TaskScheduler scheduler = new TaskScheduler(CONFIG, TASKS, 1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (SchedulerService service = service(scheduler, registry)) {
            service.recover(null);
            service.tick();

            sendDropped(new byte[] {1, 2, 3}, drop("it-00000002", 0));
            tickUntil(service, () -> scheduler.counters().requeued() == 1);
        }

        assertThat(registry.get("rollout.scheduler.records.undecodable").tag("topic", topics.dropped().name())
                .counter().count()).isEqualTo(1);
        assertThat(only(readTasks(5), "it-00000002", 1).getGroupId()).isEqualTo("it-00000002");
    }

    @Test
    void shouldNeitherLoseNorRepeatTasksWhenRestartedFromACheckpoint() throws Exception {
        TaskScheduler first = new TaskScheduler(CONFIG, TASKS, 5);
        String saved;
        try (SchedulerService service = service(first, new SimpleMeterRegistry())) {
            service.recover(null);
            service.tick();                                  // 0-3
            service.trained("it-00000000", 0);
            service.trained("it-00000001", 0);
            service.tick();                                  // 4, 5
            saved = new ObjectMapper().writeValueAsString(service.checkpoint());

            // After the checkpoint: two new groups and a re-queue, then a crash (no checkpoint).
            service.trained("it-00000002", 0);
            service.trained("it-00000003", 0);
            service.tick();                                  // 6, 7
            sendDropped(drop("it-00000004", 0));
            tickUntil(service, () -> first.counters().requeued() == 1); // 4 attempt 1
        }
        assertThat(readTasks(9)).hasSize(9);

        SchedulerCheckpoint checkpoint = new ObjectMapper().readValue(saved, SchedulerCheckpoint.class);
        TaskScheduler second = new TaskScheduler(CONFIG, TASKS, 5);
        try (SchedulerService service = service(second, new SimpleMeterRegistry())) {
            service.recover(checkpoint);

            // The trainer restarts from the same checkpoint, so 2 and 3 are in flight again.
            assertThat(second.snapshot().inFlight())
                    .extracting(g -> g.groupId() + "#" + g.attempt())
                    .containsExactlyInAnyOrder("it-00000002#0", "it-00000003#0", "it-00000004#1", "it-00000005#0",
                            "it-00000006#0", "it-00000007#0");
            assertThat(second.nextIndex()).isEqualTo(8);

            // The drop read again from the checkpoint's position is of an attempt already re-queued.
            tickUntil(service, () -> second.counters().staleDrops() == 1);
            service.trained("it-00000002", 0);
            service.trained("it-00000003", 0);
            service.trained("it-00000005", 0);
            service.tick();                                  // 8
        }

        List<ConsumerRecord<String, Task>> tasks = readTasks(10);
        List<String> sent = tasks.stream().map(r -> r.value().getGroupId() + "#" + r.value().getAttempt()).toList();
        assertThat(new HashSet<>(sent)).hasSameSizeAs(sent);
        assertThat(sent).containsExactlyInAnyOrder("it-00000000#0", "it-00000001#0", "it-00000002#0",
                "it-00000003#0", "it-00000004#0", "it-00000005#0", "it-00000006#0", "it-00000007#0",
                "it-00000004#1", "it-00000008#0");
    }

    @Test
    void shouldRunTicksOnItsOwnThreadAfterStart() throws Exception {
        TaskScheduler scheduler = new TaskScheduler(CONFIG, TASKS, 1);
        try (SchedulerService service = service(scheduler, new SimpleMeterRegistry())) {
            service.start(null);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (scheduler.counters().dispatched() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            service.trained("it-00000000", 0);
            while (scheduler.counters().dispatched() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
        assertThat(readTasks(5)).extracting(ConsumerRecord::key).contains("it-00000004");
    }

    static DroppedGroup drop(String groupId, int attempt) {
        return new DroppedGroup(groupId, attempt, DropReason.TIMEOUT, 1, 4, System.currentTimeMillis());
    }

    void sendDropped(Object... values) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (Object v : values) {
                byte[] bytes = v instanceof DroppedGroup d
                        ? topics.dropped().valueSerde().serializer().serialize(topics.dropped().name(), d)
                        : (byte[]) v;
                String key = v instanceof DroppedGroup d ? d.getGroupId() : "junk";
                producer.send(new ProducerRecord<>(topics.dropped().name(), key.getBytes(StandardCharsets.UTF_8),
                        bytes));
            }
            producer.flush();
        }
    }

    static void tickUntil(SchedulerService service, BooleanSupplier done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!done.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition not met within 30 s").isLessThan(deadline);
            service.tick();
        }
    }

    static Task only(List<ConsumerRecord<String, Task>> tasks, String groupId, int attempt) {
        List<Task> matching = tasks.stream().map(ConsumerRecord::value)
                .filter(t -> t.getGroupId().equals(groupId) && t.getAttempt() == attempt).toList();
        assertThat(matching).as(groupId + " attempt " + attempt).hasSize(1);
        return matching.get(0);
    }

    /** Every task on the topic: reads until {@code expected} arrived, then a second more to catch extras. */
    List<ConsumerRecord<String, Task>> readTasks(int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        List<ConsumerRecord<String, Task>> out = new ArrayList<>();
        try (KafkaConsumer<String, Task> consumer = new KafkaConsumer<>(p, new StringDeserializer(),
                topics.tasks().valueSerde().deserializer())) {
            List<TopicPartition> tps = consumer.partitionsFor(topics.tasks().name()).stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                consumer.poll(Duration.ofMillis(100)).forEach(out::add);
                if (out.size() >= expected && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
                }
            }
        }
        return out;
    }
}
