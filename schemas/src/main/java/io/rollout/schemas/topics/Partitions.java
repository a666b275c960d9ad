package io.rollout.schemas.topics;

import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The partitions of a topic, for clients that assign partitions themselves. A topic created
 * a moment ago may not be in the client's metadata yet, so the lookup retries until the
 * timeout before it reports the topic missing.
 */
public final class Partitions {

    private Partitions() {}

    /**
     * All partitions of {@code topic}; IllegalStateException naming it if it does not appear in
     * time, also when the brokers do not answer (the client's own TimeoutException is not raised).
     */
    public static List<TopicPartition> of(Consumer<?, ?> consumer, String topic, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<PartitionInfo> infos;
            boolean noMetadata = false;
            try {
                infos = consumer.partitionsFor(topic, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            } catch (TimeoutException e) {
                infos = null; // no metadata yet (a slow or unreachable broker): like a missing topic, until the deadline
                noMetadata = true;
            }
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(noMetadata
                        ? "topic " + topic + " not found within " + timeout + ": no metadata from the brokers"
                                + " (are they reachable?)"
                        : "topic " + topic + " does not exist: create the topics first "
                                + "(rollout.jar topics, or TopicProvisioner)");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while looking up topic " + topic, e);
            }
        }
    }
}
