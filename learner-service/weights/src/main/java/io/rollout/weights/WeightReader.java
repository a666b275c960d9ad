package io.rollout.weights;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.Limits;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows {@code policy.weights} for one adapter and keeps its newest complete, verified
 * version: chunks are buffered per version until the manifest arrives, then joined in index
 * order and checked against the manifest's size and SHA-256. A version with a missing or
 * corrupt chunk is rejected and the previous one kept; an undecodable record, a manifest
 * beyond {@link Limits#MAX_CHUNK_COUNT} or {@link Limits#MAX_ADAPTER_BYTES} and a chunk that
 * does not fit them are skipped, logged with their offset and counted, so nothing on the
 * topic can wedge the reader or make it allocate by what a record declares. It reads the
 * single partition from the beginning without a consumer group, so a new reader ends on the
 * newest version.
 *
 * <p>Poll either by hand with {@link #pollOnce} or on a daemon thread with {@link #start};
 * {@link #latest}, {@link #currentVersion}, {@link #awaitVersion}, {@link #state} and
 * {@link #failure} may be called from any thread. Anything else that goes wrong while
 * processing (an {@link Error}, a listener that throws one) ends the reader: it is logged
 * at ERROR, kept as {@link #failure()}, handed to the {@link #onFailure} callbacks and
 * raised by {@link #awaitVersion}, so the owning service can report itself unhealthy.
 *
 * <p>Longer than most classes because the reader's whole state machine (manifests, chunk
 * assembly per version, verification, swaps, failure) runs on its one poll thread; what is
 * decided without Kafka is {@link ChunkAssembly}.
 */
public final class WeightReader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WeightReader.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);

    /** Why a version or a record was rejected: the {@code reason} tag of {@code rollout.weights.rejected}. */
    public enum Rejection {
        /** A chunk the manifest counts is missing. */
        INCOMPLETE,
        /** The chunks' size or SHA-256 differs from the manifest's, or the manifest contradicts itself. */
        CORRUPT,
        /** A record could not be decoded; it is skipped. */
        UNDECODABLE,
        /**
         * A manifest declares more chunks or bytes than {@link Limits} allow, or a chunk's index
         * or size would exceed them; it is skipped.
         */
        OVERSIZED,
        /** Processing a record threw an unexpected exception; the record is skipped. */
        ERROR;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Where a reader is in its life; {@link #FAILED} and {@link #CLOSED} are final for its thread. */
    public enum State {
        /** Opened; polled by hand ({@link #pollOnce}, {@link #catchUp}) if at all. */
        CREATED,
        /** Polling on its own thread since {@link #start()}. */
        RUNNING,
        /** Stopped by an unexpected failure, kept as {@link #failure()}; nothing more is read. */
        FAILED,
        /** Closed; a failure before the close is still kept. */
        CLOSED
    }

    /** Pending chunks of all versions above the current one, in bytes, at most. */
    static final long MAX_PENDING_BYTES = 2 * Limits.MAX_ADAPTER_BYTES;

    private final String topic;
    private final String adapter;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Deserializer<SpecificRecord> values;
    /** Chunks of versions above the current one and their assembly; poll thread only. */
    private final ChunkAssembly assembly;
    private final List<Consumer<AdapterVersion>> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<? super Throwable>> failureListeners = new ArrayList<>();
    private final Object pollLock = new Object();
    private final Object versionLock = new Object();
    private volatile AdapterVersion latest;
    private volatile boolean closed;
    private volatile Thread pollThread;
    /** What ended the reader; guarded by failureListeners for writes. */
    private volatile Throwable failure;

    private final MeterRegistry registry;
    private final Gauge versionGauge;
    private final Counter accepted;
    private final Map<Rejection, Counter> rejected = new HashMap<>();
    private final Timer readableLatency;

    private WeightReader(Builder b) {
        this.topic = b.topic.name();
        this.adapter = b.adapter;
        this.assembly = new ChunkAssembly(b.adapter, MAX_PENDING_BYTES);
        this.values = b.topic.valueSerde().deserializer();
        this.registry = b.registry;
        versionGauge = Gauge.builder("rollout.weights.version", this, WeightReader::currentVersion)
                .description("Adapter version the reader holds; -1 before the first")
                .tag("adapter", adapter).register(registry);
        accepted = Counter.builder("rollout.weights.accepted")
                .description("Adapter versions accepted after their size and SHA-256 checked out")
                .tag("adapter", adapter).register(registry);
        for (Rejection r : Rejection.values()) {
            rejected.put(r, Counter.builder("rollout.weights.rejected")
                    .description("Adapter versions rejected (incomplete, corrupt, oversized) and records skipped"
                            + " (undecodable, oversized, error)")
                    .tag("adapter", adapter).tag("reason", r.tag()).register(registry));
        }
        readableLatency = Timer.builder("rollout.weights.readable.latency")
                .description("From the start of a version's publish (manifest createdAtMs) to its acceptance here")
                .tag("adapter", adapter).register(registry);
        this.consumer = new KafkaConsumer<>(Weights.consumerProperties(b.kafka), new StringDeserializer(),
                new ByteArrayDeserializer());
        try {
            TopicPartition partition = Weights.partition(consumer, topic, b.topicWait);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * @param kafka   client settings, e.g. from {@code KafkaSettings.merge}; must set
     *                {@code bootstrap.servers}; a {@code group.id} is dropped (the reader uses none)
     * @param catalog the topics; the reader follows {@link TopicCatalog#weights()}
     * @param adapter the adapter to follow; records of other adapters are ignored
     */
    public static Builder builder(Properties kafka, TopicCatalog catalog, String adapter) {
        return new Builder(kafka, catalog, adapter);
    }

    /**
     * Processes the records of one consumer poll, waiting at most {@code timeout} for them.
     * For callers that poll themselves (tests, a single-threaded loop); not after {@link #start()}.
     */
    public void pollOnce(Duration timeout) {
        if (pollThread != null) {
            throw new IllegalStateException("the reader of adapter '" + adapter + "' polls on its own thread");
        }
        synchronized (pollLock) {
            checkUsable();
            processOrFail(consumer.poll(timeout));
        }
    }

    /**
     * Reads everything on the topic as of this call, so that {@link #latest} is the newest
     * version published before it: how a service starts from the newest version instead of
     * the base model. For use before {@link #start()}.
     *
     * @throws TimeoutException if the end is not reached within {@code timeout}
     */
    public Optional<AdapterVersion> catchUp(Duration timeout) throws TimeoutException {
        if (pollThread != null) {
            throw new IllegalStateException("the reader of adapter '" + adapter + "' polls on its own thread");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (pollLock) {
            checkUsable();
            Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), timeout);
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                while (consumer.position(e.getKey(), timeout) < e.getValue()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TimeoutException("adapter '" + adapter + "': " + topic + " not read to offset "
                                + e.getValue() + " within " + timeout);
                    }
                    processOrFail(consumer.poll(Duration.ofNanos(Math.min(left, POLL.toNanos()))));
                }
            }
        }
        return latest();
    }

    /** Starts polling on a daemon thread until {@link #close()}. */
    public synchronized void start() {
        if (closed || pollThread != null || failure != null) {
            throw new IllegalStateException("the reader of adapter '" + adapter + "' is "
                    + (closed ? "closed" : failure != null ? "failed" : "already started"), failure);
        }
        Thread thread = new Thread(this::run, "weight-reader-" + adapter);
        thread.setDaemon(true);
        pollThread = thread;
        thread.start();
    }

    private void run() {
        try {
            while (!closed) {
                try {
                    synchronized (pollLock) {
                        if (closed) {
                            return;
                        }
                        process(consumer.poll(POLL));
                    }
                } catch (WakeupException e) {
                    // close() woke us up; the loop ends
                } catch (KafkaException e) {
                    // The client's own errors (broker gone, not authorized, ...) may pass: poll again.
                    LOG.error("polling {} for adapter {} failed; retrying in {} ms", topic, adapter,
                            RETRY_BACKOFF.toMillis(), e);
                    Thread.sleep(RETRY_BACKOFF.toMillis());
                }
            }
        } catch (InterruptedException e) {
            if (!closed) {
                fail(e);
            }
        } catch (Throwable t) {
            fail(t);
        }
    }

    /** Processes on the caller's thread; a failure ends the reader and is raised to the caller. */
    private void processOrFail(ConsumerRecords<String, byte[]> records) {
        try {
            process(records);
        } catch (Throwable t) {
            fail(t);
            throw t;
        }
    }

    private void checkUsable() {
        if (closed) {
            throw new IllegalStateException("the reader of adapter '" + adapter + "' is closed", failure);
        }
        Throwable t = failure;
        if (t != null) {
            throw new IllegalStateException("the reader of adapter '" + adapter + "' failed: " + t, t);
        }
    }

    /** Records what ended the reader, once, and tells the failure callbacks. */
    private void fail(Throwable t) {
        List<Consumer<? super Throwable>> toCall;
        synchronized (failureListeners) {
            if (failure != null) {
                return;
            }
            failure = t;
            toCall = List.copyOf(failureListeners);
        }
        LOG.error("the reader of adapter {} on {} stopped; it holds version {} and reads nothing more", adapter, topic,
                currentVersion(), t);
        toCall.forEach(this::callFailureListener);
        synchronized (versionLock) {
            versionLock.notifyAll(); // awaitVersion raises it
        }
    }

    private void callFailureListener(Consumer<? super Throwable> listener) {
        try {
            listener.accept(failure);
        } catch (Throwable e) {
            LOG.error("a failure callback of the reader of adapter {} threw", adapter, e);
        }
    }

    /** Where the reader is: created, running on its thread, failed or closed. */
    public State state() {
        if (closed) {
            return State.CLOSED;
        }
        if (failure != null) {
            return State.FAILED;
        }
        return pollThread != null ? State.RUNNING : State.CREATED;
    }

    /** Whether nothing has gone wrong that ended the reader: no {@link #failure()}. */
    public boolean healthy() {
        return failure == null;
    }

    /** What ended the reader, if anything did: an Error, or an exception a listener or the reader threw. */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    /**
     * Calls {@code callback} once with what ends the reader, on the thread it happened on
     * (or at once, if the reader has already failed): how the owning service learns to turn
     * unhealthy and exit. A callback that throws is logged.
     */
    public void onFailure(Consumer<? super Throwable> callback) {
        Objects.requireNonNull(callback, "callback");
        Throwable already;
        synchronized (failureListeners) {
            failureListeners.add(callback);
            already = failure;
        }
        if (already != null) {
            callFailureListener(callback);
        }
    }

    /** The newest accepted version, if any. */
    public Optional<AdapterVersion> latest() {
        return Optional.ofNullable(latest);
    }

    /** The newest accepted version number, or -1 if none. */
    public long currentVersion() {
        AdapterVersion v = latest;
        return v == null ? -1 : v.version();
    }

    /**
     * Waits until a version of at least {@code minVersion} is accepted, by the thread of
     * {@link #start()} or by another thread's {@link #pollOnce}, and returns the newest.
     *
     * @throws TimeoutException      if none is accepted within {@code timeout}
     * @throws IllegalStateException if the reader is closed or fails meanwhile (the failure is its cause)
     */
    public AdapterVersion awaitVersion(long minVersion, Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (versionLock) {
            while (true) {
                AdapterVersion v = latest;
                if (v != null && v.version() >= minVersion) {
                    return v;
                }
                checkUsable();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException("adapter '" + adapter + "': no version >= " + minVersion + " within "
                            + timeout + "; current version " + currentVersion());
                }
                TimeUnit.NANOSECONDS.timedWait(versionLock, left);
            }
        }
    }

    /**
     * Calls {@code listener} with every version accepted from now on, on the polling thread,
     * before the next record is read; add it before {@link #start()} to see the first. A
     * listener that throws an exception is logged and does not stop the reader; one that
     * throws an Error ends it (see {@link #failure()}).
     */
    public void addListener(Consumer<AdapterVersion> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Handles each record on its own: a record that cannot be handled is skipped, logged and
     * counted; only an Error (or a listener's Error) leaves this method.
     */
    private void process(ConsumerRecords<String, byte[]> records) {
        for (ConsumerRecord<String, byte[]> r : records) {
            if (r.value() == null) {
                continue; // a tombstone of a retired chunk
            }
            try {
                SpecificRecord value;
                try {
                    value = values.deserialize(r.topic(), r.value());
                } catch (SerializationException e) {
                    skip(r, Rejection.UNDECODABLE, e.getMessage());
                    continue;
                }
                if (value instanceof WeightChunk chunk) {
                    onChunk(r, chunk);
                } else if (value instanceof WeightManifest manifest) {
                    onManifest(r, manifest);
                }
            } catch (RuntimeException e) {
                rejected.get(Rejection.ERROR).increment();
                LOG.error("skipping record {}-{}@{} of adapter {}: processing it threw", r.topic(), r.partition(),
                        r.offset(), adapter, e);
            }
        }
    }

    private void skip(ConsumerRecord<?, ?> r, Rejection reason, String detail) {
        rejected.get(reason).increment();
        LOG.warn("skipping {} record {}-{}@{}: {}", reason.tag(), r.topic(), r.partition(), r.offset(), detail);
    }

    private void onChunk(ConsumerRecord<?, ?> r, WeightChunk chunk) {
        if (assembly.chunk(chunk, currentVersion()) instanceof ChunkAssembly.Outcome.Refused refused) {
            skip(r, refused.reason(), refused.detail());
        }
    }

    private void onManifest(ConsumerRecord<?, ?> r, WeightManifest m) {
        ChunkAssembly.Outcome outcome = assembly.manifest(m, currentVersion());
        if (outcome instanceof ChunkAssembly.Outcome.Refused refused) {
            reject(r, m, refused.reason(), refused.detail());
        } else if (outcome instanceof ChunkAssembly.Outcome.Assembled assembled) {
            accept(assembled.version());
        }
    }

    private void accept(AdapterVersion version) {
        synchronized (versionLock) {
            latest = version;
            versionLock.notifyAll();
        }
        accepted.increment();
        long latencyMs = Math.max(0, System.currentTimeMillis() - version.manifest().getCreatedAtMs());
        readableLatency.record(latencyMs, TimeUnit.MILLISECONDS);
        LOG.info("accepted adapter {} version {}: {} bytes in {} chunks, {} ms after publish started", adapter,
                version.version(), version.bytes().length, version.manifest().getChunkCount(), latencyMs);
        for (Consumer<AdapterVersion> listener : listeners) {
            try {
                listener.accept(version);
            } catch (RuntimeException e) {
                LOG.warn("a listener of adapter {} failed on version {}", adapter, version.version(), e);
            }
        }
    }

    private void reject(ConsumerRecord<?, ?> r, WeightManifest m, Rejection reason, String detail) {
        rejected.get(reason).increment();
        LOG.warn("rejected adapter {} version {} (manifest {}-{}@{}) as {}: {}; keeping version {}", adapter,
                m.getVersion(), r.topic(), r.partition(), r.offset(), reason.tag(), detail, currentVersion());
    }

    /** Stops the polling thread, if any, and the consumer; idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        Thread thread = pollThread;
        if (thread != null && thread != Thread.currentThread()) { // a failure callback may close the reader
            consumer.wakeup();
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (pollLock) {
            consumer.close();
        }
        synchronized (versionLock) {
            versionLock.notifyAll();
        }
        registry.remove(versionGauge);
    }

    /** Options of a reader. */
    public static final class Builder {
        private final Properties kafka;
        private final Topic<String, SpecificRecord> topic;
        private final String adapter;
        private MeterRegistry registry = Metrics.globalRegistry;
        private Duration topicWait = Weights.DEFAULT_TOPIC_WAIT;

        private Builder(Properties kafka, TopicCatalog catalog, String adapter) {
            this.kafka = Weights.checkKafka(kafka);
            this.topic = Objects.requireNonNull(catalog, "catalog").weights();
            this.adapter = Weights.checkAdapter(adapter);
        }

        /** How long {@link #open} waits for a topic created a moment ago to appear (default 30 s). */
        public Builder topicWait(Duration wait) {
            this.topicWait = Weights.checkWait(wait);
            return this;
        }

        /** Where the meters go; null (and the default) is Micrometer's global registry. */
        public Builder meterRegistry(MeterRegistry registry) {
            this.registry = registry == null ? Metrics.globalRegistry : registry;
            return this;
        }

        /**
         * Creates the consumer and positions it at the start of the topic; nothing is read
         * until {@link #pollOnce} or {@link #start()}.
         *
         * @throws IllegalStateException if the topic does not appear within the topic wait
         */
        public WeightReader open() {
            return new WeightReader(this);
        }
    }
}
