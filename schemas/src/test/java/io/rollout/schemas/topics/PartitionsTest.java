package io.rollout.schemas.topics;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

class PartitionsTest {

    @Test
    void shouldReportATopicItCannotLookUpInTimeAsMissingEvenWhenTheBrokersDoNotAnswer() {
        // Nothing listens on port 1: metadata never comes, as with a broker too loaded to answer in time.
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1"),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            assertThatThrownBy(() -> Partitions.of(consumer, "nowhere.policy.weights", Duration.ofMillis(500)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("nowhere.policy.weights")
                    .hasMessageContaining("no metadata from the brokers");
        }
    }
}
