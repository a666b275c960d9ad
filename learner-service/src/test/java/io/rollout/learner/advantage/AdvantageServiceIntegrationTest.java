package io.rollout.learner.advantage;

import static io.rollout.learner.advantage.Steps.step;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.records.DropReason;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.TerminalReason;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The advantage app end to end on the embedded broker under exactly_once_v2. */
class AdvantageServiceIntegrationTest {

    @TempDir
    Path stateDir;

    @Test
    void shouldTurnStepsIntoSamplesExactlyOnceOnARealBroker() throws Exception {
        String bootstrap = SharedKafkaBroker.bootstrapServers();
        TopicCatalog topics = TopicCatalog.builder().prefix("it-advantage.").build();
        Properties admin = new Properties();
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin a = Admin.create(admin)) {
            new TopicProvisioner(a, Optional.empty(), Duration.ofSeconds(60)).ensure(topics.all());
        }

        // 12 groups of 4 episodes of 1-5 steps in shuffled order, every fifth step sent twice,
        // one group with an infrastructure error, and one record that is not a step.
        Random random = new Random(11);
        List<Step> all = new ArrayList<>();
        Map<String, Integer> expectedSteps = new HashMap<>();
        for (int g = 0; g < 12; g++) {
            String group = "it-g" + g;
            int count = 0;
            for (int e = 0; e < 4; e++) {
                int length = 1 + random.nextInt(5);
                for (int t = 0; t < length; t++) {
                    boolean done = t == length - 1;
                    TerminalReason reason = !done ? TerminalReason.NONE
                            : g == 7 && e == 2 ? TerminalReason.INFRA_ERROR : TerminalReason.SUCCESS;
                    all.add(step(group, 0, 4, e, t, "s" + random.nextInt(3), done ? 1f : 0f, true, done, reason));
                    count++;
                }
            }
            if (g != 7) {
                expectedSteps.put(group, count);
            }
        }
        Collections.shuffle(all, random);
        int total = expectedSteps.values().stream().mapToInt(Integer::intValue).sum();

        // The first half goes to one instance, which then stops; a second instance with an
        // empty state directory (a lost machine) restores the open groups from the changelog
        // and gets the second half. Every group still yields each step once.
        int half = all.size() / 2;
        try (AdvantageService first = service(topics, stateDir.resolve("first"), new SimpleMeterRegistry())) {
            first.start(Duration.ofSeconds(90));
            assertThat(first.healthy()).isTrue();
            produce(topics, all.subList(0, half), true);
            Thread.sleep(1500);
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (AdvantageService service = service(topics, stateDir.resolve("second"), registry)) {
            service.start(Duration.ofSeconds(90));
            produce(topics, all.subList(half, all.size()), false);

            List<ConsumerRecord<String, TrainingSample>> samples = readCommitted(topics.samples().name(),
                    AvroSerde.of(TrainingSample.class).deserializer(), total, Duration.ofSeconds(60));
            assertThat(samples).hasSize(total);
            Map<String, Integer> perGroup = new HashMap<>();
            samples.forEach(r -> perGroup.merge(r.key(), 1, Integer::sum));
            assertThat(perGroup).isEqualTo(expectedSteps);
            assertThat(samples).allMatch(r -> Float.isFinite(r.value().getAdvantage()));

            List<ConsumerRecord<String, DroppedGroup>> drops = readCommitted(topics.dropped().name(),
                    AvroSerde.of(DroppedGroup.class).deserializer(), 1, Duration.ofSeconds(30));
            assertThat(drops).hasSize(1);
            assertThat(drops.get(0).value().getGroupId().toString()).isEqualTo("it-g7");
            assertThat(drops.get(0).value().getReason()).isEqualTo(DropReason.INFRA_ERROR);

            List<ConsumerRecord<String, byte[]>> letters = readCommitted(topics.dlq().name(),
                    new ByteArrayDeserializer(), 1, Duration.ofSeconds(30));
            assertThat(letters).hasSize(1);
            assertThat(DeadLetters.text(letters.get(0).headers(), DeadLetters.SOURCE_TOPIC))
                    .isEqualTo(topics.steps().name());
            assertThat(registry.get("rollout.advantage.groups.completed").counter().count()).isLessThanOrEqualTo(11);

            // Every store (three per task, six tasks) reports the one shared block cache of the
            // process budget, not a 50 MiB cache of its own.
            List<Double> capacities = service.streamsMetrics().entrySet().stream()
                    .filter(e -> e.getKey().name().equals("block-cache-capacity"))
                    .map(e -> ((Number) e.getValue().metricValue()).doubleValue())
                    .toList();
            assertThat(capacities).hasSize(18);
            assertThat(capacities).containsOnly((double) AdvantageService.DEFAULT_ROCKSDB_MEMORY);
        }
    }

    private static AdvantageService service(TopicCatalog topics, Path stateDir, SimpleMeterRegistry registry) {
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        return new AdvantageService(topics, AdvantageConfig.defaults(),
                AdvantageService.streamsProperties(kafka, "it-advantage", stateDir, Duration.ofMillis(100), 1), registry);
    }

    /** Sends steps keyed by group id, every fifth twice (a producer retry); optionally a record that is no step. */
    private static void produce(TopicCatalog topics, List<Step> steps, boolean withJunk) {
        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerProps, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            AvroSerde<Step> serde = AvroSerde.of(Step.class);
            if (withJunk) {
                producer.send(new ProducerRecord<>(topics.steps().name(), "junk".getBytes(StandardCharsets.UTF_8),
                        new byte[] {1, 2, 3}));
            }
            for (int i = 0; i < steps.size(); i++) {
                Step s = steps.get(i);
                byte[] key = s.getGroupId().toString().getBytes(StandardCharsets.UTF_8);
                byte[] value = serde.serialize(topics.steps().name(), s);
                producer.send(new ProducerRecord<>(topics.steps().name(), key, value));
                if (i % 5 == 0) {
                    producer.send(new ProducerRecord<>(topics.steps().name(), key, value));
                }
            }
            producer.flush();
        }
    }

    /** Reads committed records until {@code expected} arrived, then a little longer to catch extras. */
    private static <V> List<ConsumerRecord<String, V>> readCommitted(String topic, Deserializer<V> values, int expected,
            Duration timeout) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "it-reader-" + topic);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, V>> out = new ArrayList<>();
        try (KafkaConsumer<String, V> consumer = new KafkaConsumer<>(p, new StringDeserializer(), values)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
                if (out.size() >= expected && settleUntil == Long.MAX_VALUE) {
                    settleUntil = System.nanoTime() + Duration.ofSeconds(2).toNanos();
                }
            }
        }
        return out;
    }
}
