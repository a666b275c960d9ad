package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.records.Step;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.serde.SampleRecords;
import io.rollout.schemas.topics.TopicCatalog;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** {@code rollout broker} as its own process, its {@code /metrics}, and {@code rollout topics} against it. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BrokerAndTopicsCommandTest {

    /** Each broker meter read from JMX; NaN would mean its object name does not exist on Kafka 4.x. */
    private static final List<String> BROKER_METERS = List.of("kafka_broker_messages_in_total",
            "kafka_broker_in_bytes_total", "kafka_broker_out_bytes_total",
            "kafka_broker_failed_produce_requests_total", "kafka_broker_failed_fetch_requests_total",
            "kafka_broker_partitions", "kafka_broker_under_replicated_partitions", "kafka_broker_offline_partitions",
            "kafka_broker_active_controllers", "kafka_broker_request_handler_idle_ratio",
            "kafka_broker_network_processor_idle_ratio", "kafka_broker_state");

    @TempDir
    static Path dataDir;

    private static BrokerProcess broker;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = BrokerProcess.start(dataDir, 0);
    }

    @AfterAll
    static void stopBroker() throws Exception {
        broker.close();
    }

    @Test
    @Order(1)
    void shouldCreateEveryTopicOnceAndChangeNothingOnASecondRun() {
        Cli first = Cli.run("topics", "--bootstrap", broker.bootstrap());
        Cli second = Cli.run("topics", "--bootstrap", broker.bootstrap());

        assertThat(first.exitCode()).as(first.err()).isZero();
        assertThat(first.out().lines()).hasSize(6).allMatch(l -> l.startsWith("created "));
        assertThat(first.out()).contains("rollout.tasks", "rollout.steps", "train.samples", "policy.weights",
                "rollout.dropped", "rollout.dlq");
        assertThat(second.exitCode()).as(second.err()).isZero();
        assertThat(second.out().lines()).hasSize(6).allMatch(l -> l.startsWith("ok "));
    }

    @Test
    @Order(2)
    void shouldExitNonZeroNamingTheTopicAndTheSettingThatDiffer() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic("mm.rollout.steps", 2, (short) 1)
                    .configs(Map.of("cleanup.policy", "compact")))).all().get();
        }

        Cli run = Cli.run("topics", "--bootstrap", broker.bootstrap(), "--prefix", "mm.", "--kafka", "client.id=test-topics");

        assertThat(run.exitCode()).isEqualTo(RolloutCommand.EXIT_MISMATCH);
        assertThat(run.err()).contains("topic mm.rollout.steps")
                .contains("partitions is 2, expected 6")
                .contains("cleanup.policy is compact, expected delete");
        assertThat(run.out()).contains("created  mm.rollout.tasks").contains("MISMATCH mm.rollout.steps");
    }

    @Test
    @Order(3)
    void shouldKeepTopicsAndDataAcrossASigtermAndARestart() throws Exception {
        assertThat(Cli.run("topics", "--bootstrap", broker.bootstrap(), "--prefix", "keep.").exitCode()).isZero();
        String topic = "keep." + TopicCatalog.STEPS;
        AvroSerde<Step> serde = AvroSerde.of(Step.class);
        Random random = new Random(3);
        List<Step> sent = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            sent.add(SampleRecords.step(random, 200, 30));
        }
        Properties producer = new Properties();
        producer.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        producer.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, Step> p = new KafkaProducer<>(producer, new StringSerializer(), serde)) {
            for (Step step : sent) {
                p.send(new ProducerRecord<>(topic, step.getGroupId(), step)).get();
            }
        }
        int port = broker.port();

        Duration stopTime = broker.terminate();
        assertThat(stopTime).isLessThan(Duration.ofSeconds(30));
        assertThat(broker.stderr()).contains("Kafka broker stopped");
        broker.close();
        broker = BrokerProcess.start(dataDir, port);

        assertThat(Cli.run("topics", "--bootstrap", broker.bootstrap(), "--prefix", "keep.").out().lines())
                .as("topics survive the restart").allMatch(l -> l.startsWith("ok "));
        List<Step> read = consume(broker.bootstrap(), topic, serde, sent.size());
        assertThat(read).containsExactlyInAnyOrderElementsOf(sent);
    }

    @Test
    @Order(4)
    void shouldServeMessagesInLogSizeAndConsumerGroupLagOnMetrics() throws Exception {
        String topic = "metrics.lag";
        String group = "metrics-lag-reader";
        Properties producer = new Properties();
        producer.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()));
                KafkaProducer<String, String> p = new KafkaProducer<>(producer, new StringSerializer(),
                        new StringSerializer())) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(topic, "k", "v" + i)).get();
            }
            admin.alterConsumerGroupOffsets(group, Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(3)))
                    .all().get();
        }
        Map<String, String> series = Map.of("consumergroup", group, "topic", topic, "partition", "0");

        PrometheusText page = PrometheusText.scrape(broker.metrics() + "/metrics");
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (page.value("kafka_consumergroup_lag", series).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(200);
            page = PrometheusText.scrape(broker.metrics() + "/metrics");
        }
        HttpResponse<String> health = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(broker.metrics() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(page.value("kafka_consumergroup_lag", series)).as(page.text()).hasValue(7);
        assertThat(page.value("kafka_consumergroup_current_offset", series)).hasValue(3);
        assertThat(page.value("kafka_topic_partition_current_offset", Map.of("topic", topic, "partition", "0")))
                .hasValue(10);
        assertThat(page.value("kafka_broker_messages_in_total").orElseThrow()).isGreaterThanOrEqualTo(10);
        assertThat(page.value("kafka_broker_log_size_bytes", Map.of("topic", topic)).orElseThrow()).isPositive();
        assertThat(page.value("kafka_broker_state")).hasValue(BrokerMetrics.RUNNING);
        for (String meter : BROKER_METERS) {
            assertThat(page.value(meter)).as(meter).isPresent();
            assertThat(page.value(meter).getAsDouble()).as(meter).isNotNaN().isGreaterThanOrEqualTo(0);
        }
        assertThat(page.text()).contains("jvm_memory_used_bytes");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("UP");
    }

    @Test
    void shouldRefuseUnauthenticatedMetricsOnAPublicAddressBeforeStartingABroker(@TempDir Path dir) {
        Cli run = Cli.run("broker", "--data-dir", dir.resolve("data").toString(), "--metrics-host", "0.0.0.0");

        assertThat(run.exitCode()).as(run.err()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(run.err()).contains("refusing to serve /metrics on 0.0.0.0 without a token");
        assertThat(dir.resolve("data")).doesNotExist();
    }

    private static List<Step> consume(String bootstrap, String topic, AvroSerde<Step> serde, int expected) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "restart-reader");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        List<Step> read = new ArrayList<>();
        try (KafkaConsumer<String, Step> consumer = new KafkaConsumer<>(props, new StringDeserializer(), serde)) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (read.size() < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Step> record : consumer.poll(Duration.ofMillis(200))) {
                    read.add(record.value());
                }
            }
        }
        return read;
    }
}
