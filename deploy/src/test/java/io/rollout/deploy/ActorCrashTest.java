package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.service.Actor;
import io.rollout.actor.service.ActorService;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.deploy.RolloutCommand;
import io.rollout.env.client.EnvClient;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.learner.advantage.AdvantageConfig;
import io.rollout.learner.advantage.AdvantageService;
import io.rollout.policy.Policy;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An actor process killed (SIGKILL) in the middle of a group: the task is re-delivered to
 * another actor, which plays the group under a higher delivery attempt, and the advantage stage
 * emits training samples of that attempt only.
 */
class ActorCrashTest {

    private static final String PREFIX = "crash.";
    private static final String GROUP = "crash-group";
    private static final AvroSerde<Step> STEPS = AvroSerde.of(Step.class);

    @TempDir
    Path dir;

    @Test
    void shouldReplayAKilledActorsGroupUnderANewAttemptAndTrainOnlyOnThat() throws Exception {
        Properties kafka = new Properties();
        kafka.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        TopicCatalog topics = TopicCatalog.builder().prefix(PREFIX).partitions(TopicCatalog.TASKS, 1)
                .partitions(TopicCatalog.STEPS, 1).partitions(TopicCatalog.SAMPLES, 1).build();
        try (Admin admin = Admin.create(kafka)) {
            new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(30)).ensure(topics.all());
        }
        Path model = dir.resolve("model");
        TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), 3);
        SessionManager sessions = new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 64,
                Duration.ofMinutes(5), System::nanoTime);
        try (EnvServer env = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 1 << 16, Duration.ofMinutes(1)),
                        sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
                AdvantageService advantage = new AdvantageService(topics, AdvantageConfig.defaults(),
                        AdvantageService.streamsProperties(kafka, PREFIX + "advantage", dir.resolve("streams"),
                                Duration.ofMillis(100), 1), new SimpleMeterRegistry())) {
            advantage.start(Duration.ofSeconds(60));
            // Episodes of up to 100 steps: the group takes seconds, so the kill lands mid-group.
            Task task = Task.newBuilder().setGroupId(GROUP).setEnv("sokoban").setEnvConfig(Map.of("max_steps", "100"))
                    .setSeed(5).setGroupSize(4).setMaxSteps(100).setAttempt(0).setPolicyVersion(0)
                    .setCreatedAtMs(System.currentTimeMillis()).build();
            try (KafkaProducer<String, Task> producer = new KafkaProducer<>(kafka,
                    topics.tasks().keySerde().serializer(), topics.tasks().valueSerde().serializer())) {
                producer.send(new ProducerRecord<>(topics.tasks().name(), GROUP, task)).get();
            }

            Process doomed = startActorProcess(env.url(), model);
            try (KafkaConsumer<String, byte[]> steps = consumer(kafka, "read_uncommitted")) {
                steps.assign(List.of(new TopicPartition(topics.steps().name(), 0)));
                steps.seekToBeginning(steps.assignment());
                Step first = awaitFirstStep(steps, doomed);
                doomed.destroyForcibly();
                assertThat(doomed.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(first.getActorId().toString()).isEqualTo("doomed");
            }

            Properties survivorKafka = new Properties();
            survivorKafka.putAll(kafka);
            survivorKafka.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
            List<TrainingSample> samples;
            try (Policy policy = Policy.load(model);
                    EnvClient client = EnvClient.create(env.url(), Duration.ofSeconds(5), Duration.ofSeconds(30));
                    Actor survivor = Actor.start(policy, client, PlayerConfig.defaults("survivor", "compact")
                            .withSeed(2L), new ActorService.Settings("survivor", PREFIX + "actors", 1,
                            Duration.ofSeconds(10)), topics, survivorKafka, new SimpleMeterRegistry(), "policy",
                            Duration.ofSeconds(30), 8)) {
                samples = awaitSamples(kafka, topics, Duration.ofSeconds(120));
                assertThat(survivor.service().failure()).isNull();
            }

            List<Step> all = readAll(kafka, topics.steps().name());
            Map<String, List<Step>> byActor = all.stream().filter(s -> s.getGroupId().toString().equals(GROUP))
                    .collect(Collectors.groupingBy(s -> s.getActorId().toString()));
            List<Step> dead = byActor.get("doomed");
            List<Step> replay = byActor.get("survivor");
            assertThat(dead).as("the killed actor published part of the group").isNotEmpty();
            assertThat(replay).as("the survivor replayed the group").isNotEmpty();
            Set<Integer> deadAttempts = dead.stream().map(Step::getAttempt).collect(Collectors.toSet());
            Set<Integer> replayAttempts = replay.stream().map(Step::getAttempt).collect(Collectors.toSet());
            assertThat(deadAttempts).hasSize(1);
            assertThat(replayAttempts).hasSize(1);
            int deadAttempt = deadAttempts.iterator().next();
            int replayAttempt = replayAttempts.iterator().next();
            assertThat(replayAttempt).isGreaterThan(deadAttempt);
            assertThat(Attempts.taskAttempt(replayAttempt)).isZero();
            long deadEpisodesDone = dead.stream().filter(Step::getDone).count();
            assertThat(deadEpisodesDone).as("the killed attempt was incomplete").isLessThan(4);

            assertThat(samples).as("one sample per step of the replay").hasSize(replay.size());
            assertThat(samples).allSatisfy(s -> assertThat(s.getAttempt()).isEqualTo(replayAttempt));
            assertThat(samples).noneMatch(s -> s.getAttempt() == deadAttempt);
        }
    }

    private Process startActorProcess(String envUrl, Path model) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx384m", "-XX:+UseSerialGC",
                "-cp", classpath, RolloutCommand.class.getName(), "actor-service", "run",
                "--bootstrap", SharedKafkaBroker.bootstrapServers(), "--prefix", PREFIX, "--env-url", envUrl,
                "--model", model.toString(), "--actor-id", "doomed", "--groups-in-flight", "1", "--seed", "1",
                "--metrics-port", "0", "--kafka", "session.timeout.ms=6000"));
        Path log = dir.resolve("doomed.log");
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private Step awaitFirstStep(KafkaConsumer<String, byte[]> consumer, Process doomed) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(50))) {
                return STEPS.deserialize(r.topic(), r.value());
            }
            if (!doomed.isAlive()) {
                throw new AssertionError("the actor process exited early:\n" + Files.readString(dir.resolve("doomed.log")));
            }
        }
        doomed.destroyForcibly();
        throw new AssertionError("the actor published no step within 90 s:\n"
                + Files.readString(dir.resolve("doomed.log")));
    }

    private static List<TrainingSample> awaitSamples(Properties kafka, TopicCatalog topics, Duration timeout) {
        List<TrainingSample> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer(kafka, "read_committed")) {
            consumer.assign(List.of(new TopicPartition(topics.samples().name(), 0)));
            consumer.seekToBeginning(consumer.assignment());
            long deadline = System.nanoTime() + timeout.toNanos();
            int expected = -1;
            while (System.nanoTime() < deadline && (expected < 0 || out.size() < expected)) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    TrainingSample s = topics.samples().valueSerde().deserializer().deserialize(r.topic(), r.value());
                    out.add(s);
                    expected = s.getGroupSamples();
                }
            }
            // Anything written after the group's samples would be a second emission: read on briefly.
            for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofSeconds(2))) {
                out.add(topics.samples().valueSerde().deserializer().deserialize(r.topic(), r.value()));
            }
        }
        assertThat(out).as("training samples of the group within %s", timeout).isNotEmpty();
        return out;
    }

    private static List<Step> readAll(Properties kafka, String topic) {
        List<Step> out = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = consumer(kafka, "read_uncommitted")) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            while (consumer.position(tp) < end) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out.add(STEPS.deserialize(r.topic(), r.value()));
                }
            }
        }
        return out;
    }

    private static KafkaConsumer<String, byte[]> consumer(Properties kafka, String isolation) {
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    }
}
