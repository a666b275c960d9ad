package io.rollout.runtime.kafka;

import java.util.Properties;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Makes the Kafka clients of a service that reads and writes raw bytes (it decodes records
 * itself, so a bad one is dead-lettered rather than failing the poll). Services take one so
 * that their delivery logic can be unit-tested with Kafka's {@code MockConsumer} and
 * {@code MockProducer}; {@link #real()} makes the real clients.
 */
public interface KafkaClients {

    Consumer<byte[], byte[]> consumer(Properties settings);

    Producer<byte[], byte[]> producer(Properties settings);

    /** Real {@link KafkaConsumer}s and {@link KafkaProducer}s. */
    static KafkaClients real() {
        return new KafkaClients() {
            @Override
            public Consumer<byte[], byte[]> consumer(Properties settings) {
                return new KafkaConsumer<>(settings, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            }

            @Override
            public Producer<byte[], byte[]> producer(Properties settings) {
                return new KafkaProducer<>(settings, new ByteArraySerializer(), new ByteArraySerializer());
            }
        };
    }
}
