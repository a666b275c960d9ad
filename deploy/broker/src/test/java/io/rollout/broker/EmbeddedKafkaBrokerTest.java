package io.rollout.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaBrokerTest {

    @Test
    void shouldProduceWithAcksAllAndConsumeEveryRecordInOrder() throws Exception {
        EmbeddedKafkaBroker broker = SharedKafkaBroker.get();
        String topic = "broker-test-acks-all";
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
        }

        Properties producerProps = new Properties();
        producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        List<RecordMetadata> acked = new ArrayList<>();
        try (KafkaProducer<String, String> producer =
                     new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 200; i++) {
                acked.add(producer.send(new ProducerRecord<>(topic, "group-" + (i % 7), "value-" + i)).get());
            }
        }
        assertThat(acked).allSatisfy(m -> assertThat(m.hasOffset()).isTrue());

        List<ConsumerRecord<String, String>> read = consumeAll(broker.bootstrapServers(), topic, 200);

        assertThat(read).hasSize(200);
        // Same key, same partition, in send order.
        for (int key = 0; key < 7; key++) {
            String k = "group-" + key;
            List<Integer> values = read.stream().filter(r -> r.key().equals(k))
                    .map(r -> Integer.parseInt(r.value().substring("value-".length()))).toList();
            assertThat(values).isSorted().hasSizeGreaterThan(20);
            assertThat(read.stream().filter(r -> r.key().equals(k)).map(ConsumerRecord::partition).distinct()).hasSize(1);
        }
    }

    @Test
    void shouldKeepTheClusterIdInTheDataDirectory(@TempDir Path dir) throws Exception {
        String first = EmbeddedKafkaBroker.clusterId(dir);

        assertThat(Files.readString(dir.resolve(EmbeddedKafkaBroker.CLUSTER_ID_FILE)).strip()).isEqualTo(first);
        assertThat(EmbeddedKafkaBroker.clusterId(dir)).isEqualTo(first);
    }

    @Test
    void shouldFallBackToAFreePortWhenTheWantedOneIsTaken() throws Exception {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(loopback, 0));

            int chosen = EmbeddedKafkaBroker.choosePort(loopback, taken.getLocalPort());

            assertThat(chosen).isPositive().isNotEqualTo(taken.getLocalPort());
        }
        int free = EmbeddedKafkaBroker.choosePort(loopback, 0);
        assertThat(EmbeddedKafkaBroker.choosePort(loopback, free)).isEqualTo(free);
    }

    static List<ConsumerRecord<String, String>> consumeAll(String bootstrap, String topic, int expected) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + topic);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<ConsumerRecord<String, String>> read = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                     new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (read.size() < expected && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(read::add);
            }
        }
        return read;
    }
}
