package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.runtime.metrics.MetricsHttpServer;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link BrokerMetrics} against the shared embedded broker, read the way Prometheus reads it:
 * over HTTP from a {@link MetricsHttpServer}: consumer-group lag and offsets, and the log size of
 * this test's topic. The whole-broker meters come from the JVM-wide JMX registry, which a test
 * JVM that has run another in-process broker (LocalPipelineTest's) shares with it, so
 * BrokerAndTopicsCommandTest checks them on a broker in a JVM of its own.
 */
class BrokerMetricsTest {

    private static final String TOPIC = "broker-metrics." + UUID.randomUUID();
    private static final String GROUP = "broker-metrics-group-" + UUID.randomUUID();
    private static final String GONE = "broker-metrics-gone-" + UUID.randomUUID();

    private static Properties client;

    @BeforeAll
    static void tenRecordsAndTwoGroupsAtOffsetsFourAndTwo() throws Exception {
        client = new Properties();
        client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, SharedKafkaBroker.bootstrapServers());
        Properties producer = new Properties();
        producer.putAll(client);
        producer.put(ProducerConfig.ACKS_CONFIG, "all");
        try (Admin admin = Admin.create(client);
                KafkaProducer<String, String> p = new KafkaProducer<>(producer, new StringSerializer(),
                        new StringSerializer())) {
            admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1))).all().get();
            for (int i = 0; i < 10; i++) {
                p.send(new ProducerRecord<>(TOPIC, 0, "k", "v" + i)).get();
            }
            TopicPartition p0 = new TopicPartition(TOPIC, 0);
            admin.alterConsumerGroupOffsets(GROUP, Map.of(p0, new OffsetAndMetadata(4))).all().get();
            admin.alterConsumerGroupOffsets(GONE, Map.of(p0, new OffsetAndMetadata(2))).all().get();
        }
    }

    @Test
    void shouldServeBrokerMetersLogSizeAndLagUnderKafkaExportersNames() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (BrokerMetrics metrics = metrics();
                MetricsHttpServer http = MetricsHttpServer.start("127.0.0.1", 0, registry, () -> true)) {
            metrics.bindTo(registry);
            metrics.refresh();

            PrometheusText page = PrometheusText.scrape(http.url() + "/metrics");

            assertThat(page.value("kafka_consumergroup_lag", series(GROUP, 0))).hasValue(6);
            assertThat(page.value("kafka_consumergroup_current_offset", series(GROUP, 0))).hasValue(4);
            assertThat(page.value("kafka_consumergroup_lag", series(GONE, 0))).hasValue(8);
            assertThat(page.value("kafka_topic_partition_current_offset", Map.of("topic", TOPIC, "partition", "0")))
                    .hasValue(10);
            assertThat(page.value("kafka_topic_partition_current_offset", Map.of("topic", TOPIC, "partition", "1")))
                    .hasValue(0);
            assertThat(page.value("kafka_consumergroup_lag", series(GROUP, 1))).as("no offset committed").isEmpty();
            assertThat(page.value("kafka_broker_log_size_bytes", Map.of("topic", TOPIC)).orElseThrow()).isPositive();
            assertThat(page.value("kafka_broker_lag_refresh_failures_total")).hasValue(0);

            try (Admin admin = Admin.create(client)) {
                admin.deleteConsumerGroups(List.of(GONE)).all().get();
            }
            metrics.refresh();
            PrometheusText after = PrometheusText.scrape(http.url() + "/metrics");

            assertThat(after.hasSeries("kafka_consumergroup_lag", "consumergroup", GONE)).as("deleted group").isFalse();
            assertThat(after.hasSeries("kafka_consumergroup_current_offset", "consumergroup", GONE)).isFalse();
            assertThat(after.value("kafka_consumergroup_lag", series(GROUP, 0))).hasValue(6);
        }
    }

    @Test
    void shouldKeepTheLastLagAndCountAFailedRead() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Admin admin = Admin.create(client);
        try (BrokerMetrics metrics = new BrokerMetrics(admin, ManagementFactory.getPlatformMBeanServer(),
                Duration.ofSeconds(5))) {
            metrics.bindTo(registry);
            metrics.refresh();
            admin.close();

            long started = System.nanoTime();
            metrics.refresh();

            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(6));
            assertThat(registry.get("kafka.broker.lag.refresh.failures").counter().count()).isEqualTo(1);
            assertThat(registry.get("kafka.consumergroup.lag").tags(seriesTags(GROUP, 0)).gauge().value()).isEqualTo(6);
        }
    }

    @Test
    void shouldStartRefreshingOnItsOwnThread() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (BrokerMetrics metrics = metrics()) {
            metrics.bindTo(registry);
            metrics.start(Duration.ofMillis(100));

            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (registry.find("kafka.consumergroup.lag").tags(seriesTags(GROUP, 0)).gauge() == null
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(registry.get("kafka.consumergroup.lag").tags(seriesTags(GROUP, 0)).gauge().value()).isEqualTo(6);
        }
    }

    private static BrokerMetrics metrics() {
        return BrokerMetrics.of(client);
    }

    private static Map<String, String> series(String group, int partition) {
        return Map.of("consumergroup", group, "topic", TOPIC, "partition", Integer.toString(partition));
    }

    private static String[] seriesTags(String group, int partition) {
        return new String[] {"consumergroup", group, "topic", TOPIC, "partition", Integer.toString(partition)};
    }
}
