package io.rollout.actor;

import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * A Kafka interceptor ({@code interceptor.classes}) that throws an {@link Error} out of the
 * task consumer's {@code poll} as soon as it returns a record: how a test makes the actor's task
 * loop meet an Error (Kafka catches an interceptor's exceptions, not its errors). The consumer
 * is recognized by its client id ending in {@code -tasks}; every other client passes through.
 */
public final class ErrorInterceptor implements ConsumerInterceptor<byte[], byte[]>, ProducerInterceptor<byte[], byte[]> {

    public static final String MESSAGE = "the task loop met an Error on purpose";

    private boolean tasks;

    @Override
    public void configure(Map<String, ?> configs) {
        Object id = configs.get("client.id");
        tasks = id != null && id.toString().endsWith("-tasks");
    }

    @Override
    public ConsumerRecords<byte[], byte[]> onConsume(ConsumerRecords<byte[], byte[]> records) {
        if (tasks && !records.isEmpty()) {
            throw new AssertionError(MESSAGE);
        }
        return records;
    }

    @Override
    public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    }

    @Override
    public ProducerRecord<byte[], byte[]> onSend(ProducerRecord<byte[], byte[]> record) {
        return record;
    }

    @Override
    public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
    }

    @Override
    public void close() {
    }
}
