package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.learner.scheduler.TaskDispatch;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the trainer resumes from, on the embedded broker: a group is trained once whatever its
 * attempts, offsets that fell off the log stop it with a clear error, a checkpoint of another
 * topic is refused, and an unreadable newest checkpoint falls back to the one before.
 */
class TrainerResumeTest {

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

    TrainerService service(TopicCatalog topics, SimpleMeterRegistry registry, List<String> trained,
            boolean acceptSampleLoss) {
        TrainerConfig config = TrainerConfig.defaults().withBatching(1, 8, 0);
        TrainerService.Settings settings = new TrainerService.Settings(2, 100, 1, "policy",
                LoraSpec.defaults("tiny").withRank(4), null, null, acceptSampleLoss, Duration.ofSeconds(20));
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        return new TrainerService(policy, config, settings, topics, kafka,
                new CheckpointStore(dir.resolve("checkpoints"), 3), TaskDispatch.NONE, registry, Clock.systemUTC(),
                new TrainerService.Listener() {
                    @Override
                    public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                        groups.forEach(g -> trained.add(version + ":" + g.key().groupId() + "@" + g.key().attempt()));
                    }
                });
    }

    static void awaitVersion(TrainerService service, long version) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (service.version() < version && service.failure() == null && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(service.failure()).isNull();
        assertThat(service.version()).isEqualTo(version);
    }

    /**
     * A slow first attempt and the scheduler's re-queue both reach train.samples; a third
     * attempt arrives after a restart. The group is trained once.
     */
    @Test
    void shouldTrainAGroupOnceWhateverItsAttemptsAndHoweverLateOneArrives() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-once.").build();
        SampleFeed.createTopics(topics);
        List<String> trained = new CopyOnWriteArrayList<>();
        try (TrainerService service = service(topics, new SimpleMeterRegistry(), trained, false)) {
            service.start();
            SampleFeed.produce(topics, SampleFeed.group("run-00000001", 0, 2, 0, 1));
            SampleFeed.produce(topics, SampleFeed.group("run-00000001", 1, 2, 0, 2));
            SampleFeed.produce(topics, SampleFeed.group("run-00000002", 0, 2, 0, 3));
            awaitVersion(service, 1);
            SampleFeed.produce(topics, SampleFeed.group("run-00000003", 0, 2, 0, 4));
            SampleFeed.produce(topics, SampleFeed.group("run-00000004", 0, 2, 0, 5));
            awaitVersion(service, 2);
        }
        try (TrainerService service = service(topics, new SimpleMeterRegistry(), trained, false)) {
            service.start();
            SampleFeed.produce(topics, SampleFeed.group("run-00000001", 2, 2, 0, 6));
            SampleFeed.produce(topics, SampleFeed.group("run-00000005", 0, 2, 0, 7));
            SampleFeed.produce(topics, SampleFeed.group("run-00000006", 0, 2, 0, 8));
            awaitVersion(service, 3);
        }
        assertThat(trained).filteredOn(t -> t.contains("run-00000001")).hasSize(1);
        assertThat(trained).extracting(t -> t.substring(t.indexOf(':') + 1, t.indexOf('@'))).doesNotHaveDuplicates()
                .hasSize(6);
    }

    /**
     * Retention deleted samples the checkpoint had not trained. The trainer stops with an
     * error that says so, instead of jumping to the end of the log; with --accept-sample-loss
     * it goes on from the log start and counts the loss.
     */
    @Test
    void shouldStopWithAClearErrorWhenRetentionDeletedUntrainedSamples() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-lost.").build();
        SampleFeed.createTopics(topics);
        List<String> trained = new CopyOnWriteArrayList<>();
        try (TrainerService service = service(topics, new SimpleMeterRegistry(), trained, false)) {
            service.start();
            // One complete group: fewer than a batch, so the checkpoint written on close resumes before it.
            SampleFeed.produce(topics, SampleFeed.group("lost", 0, 3, 0, 1));
            Thread.sleep(1000);
        }
        deleteAllRecords(topics.samples().name());

        try (TrainerService service = service(topics, new SimpleMeterRegistry(), trained, false)) {
            service.start();
            assertThat(service.awaitStopped(Duration.ofSeconds(30))).isTrue();
            assertThat(service.failure()).hasMessageContaining("were deleted from it-lost.train.samples")
                    .hasMessageContaining("--accept-sample-loss");
        }

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerService service = service(topics, registry, trained, true)) {
            service.start();
            SampleFeed.produce(topics, SampleFeed.group("after-1", 0, 2, 0, 2));
            SampleFeed.produce(topics, SampleFeed.group("after-2", 0, 2, 0, 3));
            awaitVersion(service, 1);
            assertThat(registry.get("rollout.trainer.samples.lost").counter().count()).isEqualTo(3);
        }
        assertThat(trained).containsExactlyInAnyOrder("1:after-1@0", "1:after-2@0");
    }

    /** A checkpoint's offsets belong to the topic it read: another topic is refused, not misread. */
    @Test
    void shouldRefuseToResumeACheckpointAgainstAnotherTopic() throws Exception {
        TopicCatalog first = TopicCatalog.builder().prefix("it-source-a.").build();
        TopicCatalog second = TopicCatalog.builder().prefix("it-source-b.").build();
        SampleFeed.createTopics(first);
        SampleFeed.createTopics(second);
        try (TrainerService service = service(first, new SimpleMeterRegistry(), new ArrayList<>(), false)) {
            service.start();
        }
        TrainerService other = service(second, new SimpleMeterRegistry(), new ArrayList<>(), false);
        assertThatThrownBy(other::start).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("it read topic it-source-a.train.samples, this trainer reads it-source-b.train.samples");
        other.close();
    }

    /** The newest checkpoint is damaged on disk: the trainer resumes from the one before and says so. */
    @Test
    void shouldFallBackToThePreviousCheckpointWhenTheNewestIsUnreadable() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-fallback.").build();
        SampleFeed.createTopics(topics);
        List<String> trained = new CopyOnWriteArrayList<>();
        try (TrainerService service = service(topics, new SimpleMeterRegistry(), trained, false)) {
            service.start();
            for (int g = 0; g < 4; g++) {
                SampleFeed.produce(topics, SampleFeed.group("f" + g, 0, 2, 0, g));
            }
            awaitVersion(service, 2);
        }
        CheckpointStore store = new CheckpointStore(dir.resolve("checkpoints"), 3);
        Path newest = store.latest().orElseThrow();
        assertThat(CheckpointStore.versionOf(newest)).isEqualTo(2);
        try (FileChannel ch = FileChannel.open(newest.resolve(TrainerCheckpoint.OPTIMIZER_FILE), StandardOpenOption.WRITE)) {
            ch.truncate(20);
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (TrainerService service = service(topics, registry, trained, false)) {
            service.start();
            assertThat(registry.get("rollout.trainer.checkpoints.unreadable").counter().count()).isEqualTo(1);
            // Resumed from version 1; numbering continues after the published 2, and the groups of
            // version 2 (their training died with the damaged state) are trained again as version 3.
            assertThat(service.version()).isEqualTo(2);
            awaitVersion(service, 3);
        }
        assertThat(trained).hasSize(6).filteredOn(t -> t.startsWith("3:"))
                .containsExactlyInAnyOrderElementsOf(trained.stream().filter(t -> t.startsWith("2:"))
                        .map(t -> "3" + t.substring(1)).toList());
    }

    static void deleteAllRecords(String topic) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int i = 0; i < partitions; i++) {
                latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
            }
            Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
            admin.listOffsets(latest).all().get()
                    .forEach((tp, info) -> delete.put(tp, RecordsToDelete.beforeOffset(info.offset())));
            admin.deleteRecords(delete).all().get();
        }
    }
}
