package io.rollout.schemas.weights;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
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
 * corrupt chunk is rejected and the previous one kept; so is an undecodable record skipped,
 * so nothing on the topic can wedge the reader. It reads the single partition from the
 * beginning without a consumer group, so a new reader ends on the newest version.
 *
 * <p>Poll either by hand with {@link #pollOnce} or on a daemon thread with {@link #start};
 * {@link #latest}, {@link #currentVersion} and {@link #awaitVersion} may be called from any thread.
 */
public final class WeightReader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WeightReader.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(1);

    /** Why a version or a record was rejected: the {@code reason} tag of {@code rollout.weights.rejected}. */
    public enum Rejection {
        /** A chunk the manifest counts is missing. */
        INCOMPLETE,
        /** The chunks' size or SHA-256 differs from the manifest's. */
        CORRUPT,
        /** A record could not be decoded; it is skipped. */
        UNDECODABLE;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final String topic;
    private final String adapter;
    private final KafkaConsumer<String, byte[]> consumer;
    private final Deserializer<SpecificRecord> values;
    /** Chunks of versions above the current one, by version and index; poll thread only. */
    private final TreeMap<Long, Map<Integer, ByteBuffer>> pending = new TreeMap<>();
    private final List<Consumer<AdapterVersion>> listeners = new CopyOnWriteArrayList<>();
    private final Object pollLock = new Object();
    private final Object versionLock = new Object();
    private volatile AdapterVersion latest;
    private volatile boolean closed;
    private volatile Thread pollThread;

    private final MeterRegistry registry;
    private final Gauge versionGauge;
    private final Counter accepted;
    private final Map<Rejection, Counter> rejected = new HashMap<>();
    private final Timer readableLatency;

    private WeightReader(Builder b) {
        this.topic = b.topic.name();
        this.adapter = b.adapter;
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
                    .description("Adapter versions rejected (incomplete, corrupt) and records skipped (undecodable)")
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
            if (closed) {
                throw new IllegalStateException("the reader of adapter '" + adapter + "' is closed");
            }
            process(consumer.poll(timeout));
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
            Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment(), timeout);
            for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
                while (consumer.position(e.getKey(), timeout) < e.getValue()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        throw new TimeoutException("adapter '" + adapter + "': " + topic + " not read to offset "
                                + e.getValue() + " within " + timeout);
                    }
                    process(consumer.poll(Duration.ofNanos(Math.min(left, POLL.toNanos()))));
                }
            }
        }
        return latest();
    }

    /** Starts polling on a daemon thread until {@link #close()}. */
    public synchronized void start() {
        if (closed || pollThread != null) {
            throw new IllegalStateException("the reader of adapter '" + adapter + "' is "
                    + (closed ? "closed" : "already started"));
        }
        Thread thread = new Thread(this::run, "weight-reader-" + adapter);
        thread.setDaemon(true);
        pollThread = thread;
        thread.start();
    }

    private void run() {
        while (!closed) {
            try {
                synchronized (pollLock) {
                    if (!closed) {
                        process(consumer.poll(POLL));
                    }
                }
            } catch (WakeupException e) {
                // close() woke us up; the loop ends
            } catch (RuntimeException e) {
                LOG.error("polling {} for adapter {} failed; retrying in {} ms", topic, adapter,
                        RETRY_BACKOFF.toMillis(), e);
                try {
                    Thread.sleep(RETRY_BACKOFF.toMillis());
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
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
     * @throws IllegalStateException if the reader is closed meanwhile
     */
    public AdapterVersion awaitVersion(long minVersion, Duration timeout) throws InterruptedException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (versionLock) {
            while (true) {
                AdapterVersion v = latest;
                if (v != null && v.version() >= minVersion) {
                    return v;
                }
                if (closed) {
                    throw new IllegalStateException("the reader of adapter '" + adapter + "' is closed");
                }
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
     * listener that throws is logged and does not stop the reader.
     */
    public void addListener(Consumer<AdapterVersion> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    private void process(ConsumerRecords<String, byte[]> records) {
        for (ConsumerRecord<String, byte[]> r : records) {
            if (r.value() == null) {
                continue; // a tombstone of a retired chunk
            }
            SpecificRecord value;
            try {
                value = values.deserialize(r.topic(), r.value());
            } catch (SerializationException e) {
                LOG.warn("skipping undecodable record on {} partition {} offset {}: {}", r.topic(), r.partition(),
                        r.offset(), e.getMessage());
                rejected.get(Rejection.UNDECODABLE).increment();
                continue;
            }
            if (value instanceof WeightChunk chunk) {
                onChunk(chunk);
            } else if (value instanceof WeightManifest manifest) {
                onManifest(manifest);
            }
        }
    }

    private void onChunk(WeightChunk chunk) {
        if (adapter.equals(chunk.getAdapter()) && chunk.getVersion() > currentVersion()) {
            pending.computeIfAbsent(chunk.getVersion(), v -> new HashMap<>()).put(chunk.getIndex(), chunk.getData());
        }
    }

    private void onManifest(WeightManifest m) {
        if (!adapter.equals(m.getAdapter())) {
            return;
        }
        long version = m.getVersion();
        if (version <= currentVersion()) {
            LOG.debug("ignoring stale manifest of adapter {} version {}; holding {}", adapter, version, currentVersion());
            return;
        }
        Map<Integer, ByteBuffer> chunks = pending.getOrDefault(version, Map.of());
        // No manifest of an older version can follow this one on the partition: free them all.
        pending.headMap(version, true).clear();

        int count = m.getChunkCount();
        if (count < 1) {
            reject(m, Rejection.CORRUPT, "chunkCount is " + count);
            return;
        }
        List<Integer> missing = new ArrayList<>();
        long size = 0;
        for (int i = 0; i < count; i++) {
            ByteBuffer chunk = chunks.get(i);
            if (chunk == null) {
                missing.add(i);
            } else {
                size += chunk.remaining();
            }
        }
        if (!missing.isEmpty()) {
            reject(m, Rejection.INCOMPLETE, missing.size() + " of " + count + " chunks missing, first "
                    + missing.subList(0, Math.min(10, missing.size())));
            return;
        }
        if (size != m.getTotalBytes() || size > Integer.MAX_VALUE - 8) {
            reject(m, Rejection.CORRUPT, "chunks hold " + size + " bytes, manifest says " + m.getTotalBytes());
            return;
        }
        byte[] bytes = new byte[(int) size];
        MessageDigest sha = Weights.sha256();
        int at = 0;
        for (int i = 0; i < count; i++) {
            ByteBuffer chunk = chunks.get(i).duplicate();
            int length = chunk.remaining();
            chunk.get(bytes, at, length);
            at += length;
        }
        String actual = Weights.hex(sha.digest(bytes));
        if (!actual.equalsIgnoreCase(m.getSha256())) {
            reject(m, Rejection.CORRUPT, "sha256 of the chunks is " + actual + ", manifest says " + m.getSha256());
            return;
        }
        accept(new AdapterVersion(m, bytes));
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

    private void reject(WeightManifest m, Rejection reason, String detail) {
        rejected.get(reason).increment();
        LOG.warn("rejected adapter {} version {} as {}: {}; keeping version {}", adapter, m.getVersion(), reason.tag(),
                detail, currentVersion());
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
        if (thread != null) {
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
