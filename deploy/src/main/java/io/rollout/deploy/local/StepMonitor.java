package io.rollout.deploy.local;

import io.rollout.records.Step;
import io.rollout.records.TerminalReason;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Partitions;
import io.rollout.schemas.topics.TopicCatalog;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code rollout.steps} as an observer (all partitions, no consumer group, from the
 * start) and sums up what the actors did: steps (and valid ones) per policy version, and finished episodes
 * (success, return) per the version of their first step. Episodes ended by an infrastructure
 * error are left out of the rates. Thread-safe snapshots for the progress line and the report.
 */
final class StepMonitor implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StepMonitor.class);

    /** What was played: of one policy version, or of all. */
    record Tally(long steps, long validSteps, long episodes, long successes, double returnSum) {
        static final Tally EMPTY = new Tally(0, 0, 0, 0, 0);

        Tally plusStep(boolean valid) {
            return new Tally(steps + 1, validSteps + (valid ? 1 : 0), episodes, successes, returnSum);
        }

        Tally plusEpisode(boolean won, double episodeReturn) {
            return new Tally(steps, validSteps, episodes + 1, successes + (won ? 1 : 0), returnSum + episodeReturn);
        }

        Tally plus(Tally o) {
            return new Tally(steps + o.steps, validSteps + o.validSteps, episodes + o.episodes,
                    successes + o.successes, returnSum + o.returnSum);
        }

        double validRate() {
            return steps == 0 ? Double.NaN : (double) validSteps / steps;
        }

        double successRate() {
            return episodes == 0 ? Double.NaN : (double) successes / episodes;
        }

        double meanReturn() {
            return episodes == 0 ? Double.NaN : returnSum / episodes;
        }
    }

    private final KafkaConsumer<String, byte[]> consumer;
    private final AvroSerde<Step> serde = AvroSerde.of(Step.class);
    private final String topic;
    private final Map<String, Episode> open = new HashMap<>();
    private final TreeMap<Long, Tally> byVersion = new TreeMap<>();
    private final Thread thread;
    private Tally total = Tally.EMPTY;
    private volatile boolean closed;

    StepMonitor(Properties kafka, TopicCatalog topics) {
        Properties p = KafkaSettings.consumer(kafka, null, null);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "local-step-monitor");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        this.topic = topics.steps().name();
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        consumer.assign(Partitions.of(consumer, topic, Duration.ofSeconds(30)));
        consumer.seekToBeginning(consumer.assignment());
        this.thread = new Thread(this::run, "local-step-monitor");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (!closed) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        add(serde.deserialize(r.topic(), r.value()));
                    } catch (RuntimeException e) {
                        LOG.warn("step monitor: skipping an unreadable step at {}-{}@{}: {}", r.topic(), r.partition(),
                                r.offset(), e.getMessage());
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private synchronized void add(Step s) {
        total = total.plusStep(s.getValid());
        byVersion.merge(s.getPolicyVersion(), Tally.EMPTY.plusStep(s.getValid()), Tally::plus);
        String key = s.getGroupId() + "/" + s.getAttempt() + "/" + s.getEpisode();
        Episode ep = open.computeIfAbsent(key, k -> new Episode(s.getPolicyVersion()));
        ep.returnSum += s.getReward();
        if (!s.getDone()) {
            return;
        }
        open.remove(key);
        if (s.getTerminalReason() == TerminalReason.INFRA_ERROR) {
            return;
        }
        boolean won = s.getTerminalReason() == TerminalReason.SUCCESS;
        total = total.plusEpisode(won, ep.returnSum);
        byVersion.merge(ep.version, Tally.EMPTY.plusEpisode(won, ep.returnSum), Tally::plus);
    }

    /** Over all versions. */
    synchronized Tally totals() {
        return total;
    }

    synchronized Map<Long, Tally> byVersion() {
        return new TreeMap<>(byVersion);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Episode {
        final long version;
        double returnSum;

        Episode(long version) {
            this.version = version;
        }
    }
}
