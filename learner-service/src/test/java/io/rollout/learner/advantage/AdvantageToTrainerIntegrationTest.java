package io.rollout.learner.advantage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.learner.scheduler.TaskDispatch;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.trainer.SampleAssembler;
import io.rollout.learner.trainer.TinyModel;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.learner.trainer.UpdateStats;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.records.Step;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Steps in, a new adapter version out: the advantage app's transactional output is what the
 * trainer assembles into complete groups (it relies on {@code groupSamples}).
 */
class AdvantageToTrainerIntegrationTest {

    @TempDir
    Path dir;

    @Test
    void shouldTrainOnTheGroupsTheAdvantageAppCompletes() throws Exception {
        String bootstrap = SharedKafkaBroker.bootstrapServers();
        TopicCatalog topics = TopicCatalog.builder().prefix("it-a2t.").build();
        Properties admin = new Properties();
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin a = Admin.create(admin)) {
            new TopicProvisioner(a, Optional.empty(), Duration.ofSeconds(60)).ensure(topics.all());
        }
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", bootstrap);
        List<String> trained = new CopyOnWriteArrayList<>();
        try (Policy policy = TinyModel.load();
                AdvantageService advantage = new AdvantageService(topics, AdvantageConfig.defaults(),
                        AdvantageService.streamsProperties(kafka, "it-a2t", dir.resolve("state"), Duration.ofMillis(100),
                                1), new SimpleMeterRegistry());
                TrainerService trainer = new TrainerService(policy, TrainerConfig.defaults(),
                        new TrainerService.Settings(2, 1, 1, "policy", LoraSpec.defaults("tiny").withRank(4), null, null),
                        topics, kafka, new CheckpointStore(dir.resolve("ckpt"), 2), TaskDispatch.NONE, new SimpleMeterRegistry(),
                        Clock.systemUTC(), new TrainerService.Listener() {
                            @Override
                            public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                                groups.forEach(g -> trained.add(version + ":" + g.key().groupId() + ":"
                                        + g.samples().size()));
                            }
                        })) {
            advantage.start(Duration.ofSeconds(90));
            trainer.start();
            // Two groups of 2 episodes x 3 steps; episode 0 of each group succeeds.
            List<Step> steps = new ArrayList<>();
            for (String group : List.of("a2t-g0", "a2t-g1")) {
                for (int e = 0; e < 2; e++) {
                    steps.add(Steps.mid(group, 0, 2, e, 0, "s0", 0f));
                    steps.add(Steps.mid(group, 0, 2, e, 1, "s" + e, 0f));
                    steps.add(Steps.last(group, 0, 2, e, 2, "s" + (e + 2), e == 0 ? 1f : 0f));
                }
            }
            steps.forEach(s -> s.setPolicyVersion(0L));
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            AvroSerde<Step> serde = AvroSerde.of(Step.class);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                for (Step s : steps) {
                    producer.send(new ProducerRecord<>(topics.steps().name(),
                            s.getGroupId().toString().getBytes(StandardCharsets.UTF_8),
                            serde.serialize(topics.steps().name(), s)));
                }
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (trainer.version() < 1 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(trainer.failure()).isNull();
            assertThat(trainer.version()).isEqualTo(1);
        }
        assertThat(trained).containsExactlyInAnyOrder("1:a2t-g0:6", "1:a2t-g1:6");
    }
}
