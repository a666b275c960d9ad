package io.rollout.weights;

import static org.assertj.core.api.Assertions.fail;

import io.rollout.broker.SharedKafkaBroker;
import io.rollout.records.LoraConfig;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Topics on the shared broker, raw clients and waiting helpers for the weight tests. */
final class WeightFixtures {

    private static final AtomicInteger RUN = new AtomicInteger();

    private WeightFixtures() {
    }

    static Properties kafka() {
        return KafkaSettings.merge(null, Map.of(), SharedKafkaBroker.bootstrapServers());
    }

    /** A catalog with a prefix no other test uses, its weights topic created. */
    static TopicCatalog provisioned(String test) throws Exception {
        TopicCatalog catalog = TopicCatalog.builder().prefix(test + "-" + RUN.incrementAndGet() + ".").build();
        try (Admin admin = Admin.create(kafka())) {
            new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(30)).ensure(List.of(catalog.weights()));
        }
        return catalog;
    }

    static LoraConfig lora() {
        return LoraConfig.newBuilder().setBaseModel("tiny-llama").setRank(8).setAlpha(16f).setDropout(0.05f)
                .setTargetModules(List.of("q_proj", "v_proj")).build();
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A producer that writes whatever the test hands it, bypassing WeightPublisher. */
    static KafkaProducer<String, SpecificRecord> rawProducer(TopicCatalog catalog) {
        return new KafkaProducer<>(kafka(), catalog.weights().keySerde().serializer(),
                catalog.weights().valueSerde().serializer());
    }

    static KafkaProducer<String, byte[]> bytesProducer() {
        return new KafkaProducer<>(kafka(), new StringSerializer(), new ByteArraySerializer());
    }

    /** The last value of every key on the topic, null for a tombstone; keys in first-seen order. */
    static Map<String, byte[]> lastValues(TopicCatalog catalog) {
        Map<String, byte[]> last = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : readAll(catalog)) {
            last.put(r.key(), r.value());
        }
        return last;
    }

    static List<ConsumerRecord<String, byte[]>> readAll(TopicCatalog catalog) {
        TopicPartition tp = new TopicPartition(catalog.weights().name(), 0);
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(kafka(), new StringDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            while (consumer.position(tp) < end) {
                consumer.poll(Duration.ofMillis(200)).forEach(all::add);
            }
        }
        return all;
    }

    /** Polls the reader by hand until {@code done}, failing after 30 s. */
    static void pollUntil(WeightReader reader, BooleanSupplier done, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what + "; reader holds version " + reader.currentVersion());
            }
            reader.pollOnce(Duration.ofMillis(100));
        }
    }
}
