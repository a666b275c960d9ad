package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.learner.scheduler.TaskDispatch;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.learner.scheduler.SchedulerConfig;
import io.rollout.learner.scheduler.SchedulerService;
import io.rollout.learner.scheduler.TaskDistribution;
import io.rollout.learner.scheduler.TaskScheduler;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.weights.AdapterVersion;
import io.rollout.weights.WeightReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer service on the embedded broker with the tiny model. */
class TrainerServiceTest {

    static Policy policy;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        policy = TinyModel.load();
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    static Properties kafka() {
        Properties p = new Properties();
        p.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        return p;
    }

    TrainerService service(TopicCatalog topics, SimpleMeterRegistry registry, List<String> trained) {
        TrainerConfig config = TrainerConfig.defaults().withBatching(1, 8, 0);
        TrainerService.Settings settings = new TrainerService.Settings(2, 1, 1, "policy",
                LoraSpec.defaults("tiny").withRank(4), null, dir.resolve("export"));
        return new TrainerService(policy, config, settings, topics, kafka(),
                new CheckpointStore(dir.resolve("checkpoints"), 2), TaskDispatch.NONE, registry, Clock.systemUTC(),
                new TrainerService.Listener() {
                    @Override
                    public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                        groups.forEach(g -> trained.add(version + ":" + g.key().groupId() + ":" + g.samples().size()));
                    }
                });
    }

    @Test
    void shouldTrainCompleteGroupsDropStaleSamplesPublishAndResumeFromItsCheckpoint() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-trainer.").build();
        SampleFeed.createTopics(topics);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<String> trained = new CopyOnWriteArrayList<>();
        try (TrainerService service = service(topics, registry, trained);
                WeightReader reader = WeightReader.builder(kafka(), topics, "policy").open()) {
            service.start();
            // Four complete groups (two updates), junk bytes,
            // and a sample with a token outside the vocabulary (its group is discarded).
            List<TrainingSample> samples = new ArrayList<>();
            for (int g = 0; g < 4; g++) {
                samples.addAll(SampleFeed.group("g" + g, 0, 3, 0, g));
            }
            List<TrainingSample> poisoned = SampleFeed.group("poisoned", 0, 2, 0, 10);
            poisoned.get(0).setResponseTokens(io.rollout.schemas.serde.Packed.ints(new int[] {5, 1_000_000}));
            samples.addAll(poisoned);
            SampleFeed.produce(topics, samples);
            List<byte[][]> junk = new ArrayList<>();
            junk.add(new byte[][] {"junk".getBytes(StandardCharsets.UTF_8), {1, 2, 3}});
            SampleFeed.produceRaw(topics, junk);
            reader.start();
            AdapterVersion v2 = reader.awaitVersion(2, Duration.ofSeconds(60));
            assertThat(v2.version()).isEqualTo(2);
            try (LoraAdapter published = policy.adapterFromBytes(v2.bytes())) {
                assertThat(published.spec().rank()).isEqualTo(4);
            }
            // Version 2 - 0 > max staleness 1: these two groups are dropped whole, unseen by the update.
            SampleFeed.produce(topics, concat(SampleFeed.group("old1", 0, 2, 0, 11), SampleFeed.group("old2", 0, 2, 0, 12)));
            // Two more groups, and one still missing a sample when the trainer stops.
            SampleFeed.produce(topics, concat(SampleFeed.group("g4", 0, 3, 2, 13), SampleFeed.group("g5", 0, 3, 1, 14)));
            SampleFeed.produce(topics, SampleFeed.group("partial", 0, 3, 2, 9).subList(0, 2));
            assertThat(reader.awaitVersion(3, Duration.ofSeconds(60)).version()).isEqualTo(3);
            assertThat(registry.get("rollout.trainer.samples.stale").counter().count()).isEqualTo(4);
            assertThat(registry.get("rollout.trainer.samples.dead.lettered").counter().count()).isEqualTo(2);
            assertThat(registry.get("rollout.trainer.version").gauge().value()).isEqualTo(3);
            assertThat(registry.get("rollout.trainer.staleness").summary().count()).isEqualTo(18);
        }
        // Which of g0-g3 go into version 1 depends on partition order; version 3 is g4 and g5.
        assertThat(trained).hasSize(6).filteredOn(t -> t.startsWith("3:")).containsExactlyInAnyOrder("3:g4:3", "3:g5:3");
        assertThat(trained).extracting(t -> t.substring(2))
                .containsExactlyInAnyOrder("g0:3", "g1:3", "g2:3", "g3:3", "g4:3", "g5:3");
        assertThat(new CheckpointStore(dir.resolve("checkpoints"), 2).latest().orElseThrow())
                .isDirectoryContaining("glob:**/checkpoint.json").isDirectoryContaining("glob:**/optimizer.safetensors");
        assertThat(dir.resolve("export").resolve("v000000000003").resolve("adapter_config.json")).exists();
        List<ConsumerRecord<byte[], byte[]>> letters = readAll(topics.dlq().name(), 2);
        assertThat(letters).extracting(r -> DeadLetters.text(r.headers(), DeadLetters.REASON))
                .containsExactlyInAnyOrder("NOT_SINGLE_OBJECT", DeadLetters.INVALID);

        // A restart resumes at version 3: the partial group completes now, nothing is retrained.
        trained.clear();
        try (TrainerService service = service(topics, new SimpleMeterRegistry(), trained)) {
            service.start();
            assertThat(service.version()).isEqualTo(3);
            SampleFeed.produce(topics, concat(SampleFeed.group("partial", 0, 3, 2, 9).subList(2, 3),
                    SampleFeed.group("g6", 0, 3, 3, 15)));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (service.version() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(service.version()).isEqualTo(4);
        }
        assertThat(trained).containsExactlyInAnyOrder("4:partial:3", "4:g6:3");
    }

    /** The trainer tells the scheduler which groups it trained, which frees admission for new tasks. */
    @Test
    void shouldFreeSchedulerSlotsForTheGroupsItTrains() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-trainer-sched.").build();
        SampleFeed.createTopics(topics);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        TaskScheduler tasks = new TaskScheduler(new SchedulerConfig(4, 2, 1, 3, Duration.ZERO, "s"),
                TaskDistribution.parse(List.of("env=sokoban,group-size=3")), 7);
        SchedulerService scheduler = new SchedulerService(kafka(), topics, tasks, Clock.systemUTC(), registry);
        TrainerConfig config = TrainerConfig.defaults().withBatching(1, 8, 0);
        TrainerService.Settings settings = new TrainerService.Settings(2, 1, 5, "policy",
                LoraSpec.defaults("tiny").withRank(4), null, null);
        try (TrainerService service = new TrainerService(policy, config, settings, topics, kafka(),
                new CheckpointStore(dir.resolve("checkpoints"), 2), scheduler, registry, Clock.systemUTC(), null)) {
            service.start();
            List<Task> first = readTasks(topics, 4);
            assertThat(first).extracting(t -> t.getGroupId().toString())
                    .containsExactlyInAnyOrder("s-00000000", "s-00000001", "s-00000002", "s-00000003");
            assertThat(tasks.inFlight()).isEqualTo(4);
            SampleFeed.produce(topics, concat(SampleFeed.group("s-00000000", 0, 3, 0, 1),
                    SampleFeed.group("s-00000001", 0, 3, 0, 2)));
            List<Task> all = readTasks(topics, 6);
            assertThat(service.failure()).isNull();
            assertThat(all).as(registry::getMetersAsString).hasSize(6);
            assertThat(all.subList(4, 6)).extracting(t -> t.getGroupId().toString())
                    .containsExactlyInAnyOrder("s-00000004", "s-00000005");
            assertThat(service.version()).isEqualTo(1);
            assertThat(tasks.counters().trained()).isEqualTo(2);
        }
    }

    static List<Task> readTasks(TopicCatalog topics, int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        List<Task> out = new ArrayList<>();
        try (KafkaConsumer<String, Task> c = new KafkaConsumer<>(p, topics.tasks().keySerde().deserializer(),
                topics.tasks().valueSerde().deserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topics.tasks().name()).stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> out.add(r.value()));
            }
        }
        out.sort(java.util.Comparator.comparing(t -> t.getGroupId().toString()));
        return out;
    }

    static List<TrainingSample> concat(List<TrainingSample> a, List<TrainingSample> b) {
        List<TrainingSample> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < expected && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
