package io.rollout.learner.advantage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the advantage topology with exactly-once processing: start, wait until running,
 * report health, stop. A fatal error stops the client (and {@link #failed()} turns true) so
 * that the process can exit and be restarted, resuming from its committed state.
 */
public final class AdvantageService implements AutoCloseable {

    /**
     * Stream threads that may die and be replaced within {@link #THREAD_REPLACEMENT_WINDOW} before
     * the app stops: a broker outage longer than the transaction timeout can kill a thread with an
     * exception Kafka Streams does not recover from itself; replacing it keeps the process (and its
     * local state) instead of a restart.
     */
    static final int MAX_THREAD_REPLACEMENTS = 3;
    static final Duration THREAD_REPLACEMENT_WINDOW = Duration.ofMinutes(10);

    private static final Logger LOG = LoggerFactory.getLogger(AdvantageService.class);

    /** Native memory of all RocksDB stores of one process together, in MiB. */
    public static final int DEFAULT_ROCKSDB_MEMORY_MIB = 64;
    /** The same in bytes. */
    public static final long DEFAULT_ROCKSDB_MEMORY = (long) DEFAULT_ROCKSDB_MEMORY_MIB << 20;

    private final KafkaStreams streams;
    private final KafkaStreamsMetrics streamsMetrics;
    private final CountDownLatch running = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean failed;

    public AdvantageService(TopicCatalog topics, AdvantageConfig config, Properties streamsProperties,
            MeterRegistry registry) {
        String appId = streamsProperties.getProperty(StreamsConfig.APPLICATION_ID_CONFIG);
        AdvantageMetrics metrics = new AdvantageMetrics(registry);
        this.streams = new KafkaStreams(AdvantageTopology.build(topics, config, metrics, appId), streamsProperties);
        this.streamsMetrics = new KafkaStreamsMetrics(streams);
        streamsMetrics.bindTo(registry);
        Gauge.builder("rollout.advantage.running", this, s -> s.streams.state() == KafkaStreams.State.RUNNING ? 1 : 0)
                .description("1 while the app is RUNNING; 0 while it starts, rebalances, stops or has failed")
                .register(registry);
        ThreadReplacements replacements = new ThreadReplacements(MAX_THREAD_REPLACEMENTS, THREAD_REPLACEMENT_WINDOW);
        Counter replaced = Counter.builder("rollout.advantage.threads.replaced")
                .description("Stream threads that died of an exception and were replaced (exactly-once: their tasks "
                        + "restart from the last commit)")
                .register(registry);
        streams.setUncaughtExceptionHandler(e -> {
            if (replacements.allow(System.nanoTime())) {
                LOG.warn("advantage app: a stream thread died; replacing it (its tasks go on from their last "
                        + "commit; at most {} in {})", MAX_THREAD_REPLACEMENTS, THREAD_REPLACEMENT_WINDOW, e);
                replaced.increment();
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
            }
            LOG.error("advantage app failed: more than {} stream threads died in {}; stopping it",
                    MAX_THREAD_REPLACEMENTS, THREAD_REPLACEMENT_WINDOW, e);
            failed = true;
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.setStateListener((now, before) -> {
            LOG.info("advantage app {} -> {}", before, now);
            if (now == KafkaStreams.State.RUNNING) {
                running.countDown();
            }
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING
                    || now == KafkaStreams.State.PENDING_ERROR) {
                stopped.countDown();
            }
        });
    }

    /**
     * Streams settings: exactly-once v2, the given commit interval (the latency floor of a
     * completed group's samples), state under {@code stateDir}, reading from the earliest
     * offset on first start, producer batches of 256 KiB, and the native memory of all RocksDB
     * stores bounded together by {@link #DEFAULT_ROCKSDB_MEMORY} ({@link BoundedRocksDbMemory}).
     * {@code kafka} is passed through first, so it can set anything else (security, timeouts) and
     * override the last three.
     */
    public static Properties streamsProperties(Properties kafka, String applicationId, Path stateDir,
            Duration commitInterval, int threads) {
        Properties p = KafkaSettings.copy(kafka);
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.toString(commitInterval.toMillis()));
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.toString(threads));
        p.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.putIfAbsent(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbMemory.class.getName());
        p.putIfAbsent(BoundedRocksDbMemory.BUDGET_CONFIG, Long.toString(DEFAULT_ROCKSDB_MEMORY));
        // Each step turns into about three records (changelog, sample, tombstone): batches of
        // 16 KiB (the default) kept the app waiting on its producer in the benchmark.
        p.putIfAbsent(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), "262144");
        // The topology has no global store; enabling the handler there is Kafka 5.0's default and
        // keeps Streams from warning at every start that it is off. The main consumer's partition
        // assignor reads the streams settings again from the consumer's own configs, so it gets
        // the flag too (else it warns once more, at the same start).
        p.putIfAbsent(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");
        p.putIfAbsent(StreamsConfig.mainConsumerPrefix(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG),
                "true");
        return p;
    }

    /** Starts and waits until the app is running (its tasks assigned and restored). */
    public void start(Duration timeout) throws InterruptedException, TimeoutException {
        streams.start();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!running.await(100, TimeUnit.MILLISECONDS)) {
            if (stopped.getCount() == 0) {
                throw new IllegalStateException("advantage app stopped while starting (state " + streams.state() + ")");
            }
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("advantage app not running after " + timeout + " (state " + streams.state() + ")");
            }
        }
    }

    /**
     * Liveness ({@code /health}): not failed, and starting, rebalancing or running; false once the
     * app failed or stopped, when only a restart helps.
     */
    public boolean healthy() {
        return live(failed, streams.state());
    }

    /**
     * Readiness ({@code /ready}): not failed and {@code RUNNING}, i.e. its tasks assigned and their
     * state restored; false while it starts or rebalances.
     */
    public boolean ready() {
        return ready(failed, streams.state());
    }

    /** {@link #healthy()} for a given state: {@code CREATED} (before and while starting) is alive. */
    static boolean live(boolean failed, KafkaStreams.State state) {
        return !failed && (state == KafkaStreams.State.CREATED || state.isRunningOrRebalancing());
    }

    /** {@link #ready()} for a given state. */
    static boolean ready(boolean failed, KafkaStreams.State state) {
        return !failed && state == KafkaStreams.State.RUNNING;
    }

    public boolean failed() {
        return failed;
    }

    /** Blocks until the app stops on its own (a fatal error). */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    /** Kafka Streams' own metrics (also bound to the meter registry), for diagnostics. */
    public java.util.Map<org.apache.kafka.common.MetricName, ? extends org.apache.kafka.common.Metric> streamsMetrics() {
        return streams.metrics();
    }

    public KafkaStreams.State state() {
        return streams.state();
    }

    /** Stops and leaves the consumer group, so another instance takes the partitions at once. */
    @Override
    public void close() {
        streams.close(CloseOptions.timeout(Duration.ofSeconds(30))
                .withGroupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP));
        streamsMetrics.close();
        stopped.countDown();
    }
}
