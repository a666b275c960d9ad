package io.rollout.weights;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Timer;
import io.rollout.records.LoraConfig;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.Limits;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes versions of one LoRA adapter on {@code policy.weights}: the bytes as chunks,
 * then, once every chunk is acknowledged, a manifest with their SHA-256, so a reader never
 * sees a manifest before its chunks. Versions only increase, and chunks of versions older
 * than the newest {@code retainVersions} are deleted with tombstones so the compacted topic
 * stays small. {@link Builder#open()} scans the topic once, so both survive a restart.
 * One publisher per adapter; {@link #publish} is synchronized.
 */
public final class WeightPublisher implements AutoCloseable {

    public static final int DEFAULT_CHUNK_BYTES = 1024 * 1024;
    public static final int DEFAULT_RETAIN_VERSIONS = 2;
    /** Room left in a record for its key, the Avro header and fields and the batch framing. */
    public static final int CHUNK_HEADROOM_BYTES = 64 * 1024;
    /** Largest chunk a record of policy.weights can carry. */
    public static final int MAX_CHUNK_BYTES = TopicCatalog.WEIGHTS_MAX_MESSAGE_BYTES - CHUNK_HEADROOM_BYTES;

    private static final Logger LOG = LoggerFactory.getLogger(WeightPublisher.class);
    private static final Duration SCAN_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration SCAN_POLL = Duration.ofMillis(200);

    /** What one {@link #publish} wrote. */
    public record PublishResult(WeightManifest manifest, long manifestOffset, List<Long> retiredVersions,
                                Duration elapsed) {
        public PublishResult {
            retiredVersions = List.copyOf(retiredVersions);
        }
    }

    private final Producer<String, SpecificRecord> producer;
    private final String topic;
    private final String adapter;
    private final int chunkBytes;
    private final int retainVersions;
    /** Chunk keys on the topic that have no tombstone yet, by version. */
    private final TreeMap<Long, Set<String>> liveChunks;
    /** Versions whose manifest was written (or, after a restart, presumed so). */
    private final TreeSet<Long> complete = new TreeSet<>();
    private volatile long lastVersion;

    private final MeterRegistry registry;
    private final Timer publishTimer;
    private final Counter publishedBytes;
    private final Gauge versionGauge;

    private WeightPublisher(Builder b, Scan scan) {
        this.topic = b.topic.name();
        this.adapter = b.adapter;
        this.chunkBytes = b.chunkBytes;
        this.retainVersions = b.retainVersions;
        this.liveChunks = scan.liveChunks;
        this.lastVersion = scan.lastVersion;
        // Chunks of versions above the last manifest were left by an interrupted publish: not complete.
        complete.addAll(liveChunks.headMap(lastVersion, true).keySet());
        this.producer = new KafkaProducer<>(producerProperties(b.kafka, chunkBytes),
                b.topic.keySerde().serializer(), b.topic.valueSerde().serializer());
        this.registry = b.registry;
        publishTimer = Timer.builder("rollout.weights.publish")
                .description("Time of one adapter publish: chunks written, manifest acknowledged, old chunks tombstoned")
                .tag("adapter", adapter).register(registry);
        publishedBytes = Counter.builder("rollout.weights.published.bytes")
                .description("Adapter bytes published on policy.weights").baseUnit("bytes")
                .tag("adapter", adapter).register(registry);
        versionGauge = Gauge.builder("rollout.weights.published.version", this, p -> p.lastVersion)
                .description("Last adapter version whose manifest was acknowledged; -1 before the first")
                .tag("adapter", adapter).register(registry);
    }

    /**
     * @param kafka   client settings, e.g. from {@code KafkaSettings.merge}; must set {@code bootstrap.servers}
     * @param catalog the topics; the publisher writes {@link TopicCatalog#weights()}
     * @param adapter the adapter's name: non-blank, no '/', at most 200 characters
     */
    public static Builder builder(Properties kafka, TopicCatalog catalog, String adapter) {
        return new Builder(kafka, catalog, adapter);
    }

    /**
     * Writes {@code bytes} as version {@code version} and returns once the manifest is
     * acknowledged; then tombstones the chunks of versions older than the newest
     * {@code retainVersions} (a failed tombstone is logged and retried after the next publish).
     *
     * @throws IllegalArgumentException if {@code version} is not above {@link #lastPublishedVersion()},
     *                                  {@code bytes} is empty or above {@link Limits#MAX_ADAPTER_BYTES}, or
     *                                  would take more than {@link Limits#MAX_CHUNK_COUNT} chunks
     * @throws KafkaException           if a chunk or the manifest cannot be written; the version
     *                                  is then not published and may be published again
     */
    public synchronized PublishResult publish(long version, byte[] bytes, LoraConfig lora) {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(lora, "lora");
        if (version <= lastVersion) {
            throw new IllegalArgumentException("version " + version + " of adapter '" + adapter
                    + "' must be greater than the last published version " + lastVersion);
        }
        if (bytes.length == 0) {
            throw new IllegalArgumentException("version " + version + " of adapter '" + adapter + "' has no bytes");
        }
        if (bytes.length > Limits.MAX_ADAPTER_BYTES) {
            throw new IllegalArgumentException("version " + version + " of adapter '" + adapter + "' has " + bytes.length
                    + " bytes; readers reject more than Limits.MAX_ADAPTER_BYTES (" + Limits.MAX_ADAPTER_BYTES + ")");
        }
        int chunkCount = (int) ((bytes.length + (long) chunkBytes - 1) / chunkBytes);
        if (chunkCount > Limits.MAX_CHUNK_COUNT) {
            throw new IllegalArgumentException("version " + version + " of adapter '" + adapter + "' needs " + chunkCount
                    + " chunks of " + chunkBytes + " bytes; readers reject more than Limits.MAX_CHUNK_COUNT ("
                    + Limits.MAX_CHUNK_COUNT + "): raise chunkBytes to at least "
                    + ((bytes.length + Limits.MAX_CHUNK_COUNT - 1) / Limits.MAX_CHUNK_COUNT));
        }
        long started = System.nanoTime();
        long createdAtMs = System.currentTimeMillis();
        Set<String> keys = liveChunks.computeIfAbsent(version, v -> new HashSet<>());
        List<Future<RecordMetadata>> chunkAcks = new ArrayList<>(chunkCount);
        for (int index = 0; index < chunkCount; index++) {
            int from = index * chunkBytes;
            int length = Math.min(chunkBytes, bytes.length - from);
            WeightChunk chunk = WeightChunk.newBuilder()
                    .setAdapter(adapter).setVersion(version).setIndex(index)
                    .setData(ByteBuffer.wrap(bytes, from, length).slice())
                    .build();
            String key = Weights.chunkKey(adapter, version, index);
            keys.add(key);
            chunkAcks.add(producer.send(new ProducerRecord<>(topic, key, chunk)));
        }
        MessageDigest sha = Weights.sha256(); // while the chunks are in flight
        String sha256 = Weights.hex(sha.digest(bytes));
        for (Future<RecordMetadata> ack : chunkAcks) {
            await(ack, "a chunk of version " + version);
        }
        WeightManifest manifest = WeightManifest.newBuilder()
                .setAdapter(adapter).setVersion(version).setSha256(sha256)
                .setChunkCount(chunkCount).setTotalBytes(bytes.length)
                .setLora(lora).setCreatedAtMs(createdAtMs)
                .build();
        RecordMetadata written = await(producer.send(
                new ProducerRecord<>(topic, Weights.manifestKey(adapter), manifest)), "the manifest of version " + version);
        lastVersion = version;
        complete.add(version);
        List<Long> retired = retireOldVersions();

        Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
        publishTimer.record(elapsed);
        publishedBytes.increment(bytes.length);
        LOG.info("published adapter {} version {}: {} bytes in {} chunks at offset {} in {} ms; retired versions {}",
                adapter, version, bytes.length, chunkCount, written.offset(), elapsed.toMillis(), retired);
        return new PublishResult(manifest, written.offset(), retired, elapsed);
    }

    /** The last version whose manifest was acknowledged, also by an earlier publisher; -1 if none. */
    public long lastPublishedVersion() {
        return lastVersion;
    }

    /** Tombstones every chunk key outside the newest {@code retainVersions} complete versions. */
    private List<Long> retireOldVersions() {
        Set<Long> keep = new HashSet<>();
        complete.descendingSet().stream().limit(retainVersions).forEach(keep::add);
        complete.retainAll(keep);
        Map<String, Future<RecordMetadata>> tombstones = new LinkedHashMap<>();
        liveChunks.forEach((version, keys) -> {
            if (!keep.contains(version)) {
                for (String key : keys) {
                    tombstones.put(key, producer.send(new ProducerRecord<>(topic, key, null)));
                }
            }
        });
        for (Map.Entry<String, Future<RecordMetadata>> t : tombstones.entrySet()) {
            try {
                await(t.getValue(), "a tombstone");
                long version = Weights.chunkVersion(adapter, t.getKey());
                liveChunks.get(version).remove(t.getKey());
            } catch (KafkaException e) {
                if (e instanceof InterruptException) {
                    throw e;
                }
                LOG.warn("cannot tombstone chunk {} on {}; retrying after the next publish: {}", t.getKey(), topic,
                        e.getMessage());
            }
        }
        List<Long> retired = new ArrayList<>();
        liveChunks.entrySet().removeIf(e -> {
            boolean gone = e.getValue().isEmpty() && !keep.contains(e.getKey());
            if (gone) {
                retired.add(e.getKey());
            }
            return gone;
        });
        return retired;
    }

    private static RecordMetadata await(Future<RecordMetadata> ack, String what) {
        try {
            return ack.get();
        } catch (InterruptedException e) {
            throw new InterruptException(e);
        } catch (ExecutionException e) {
            throw new KafkaException("cannot write " + what + ": " + e.getCause().getMessage(), e.getCause());
        }
    }

    static Properties producerProperties(Properties kafka, int chunkBytes) {
        Properties p = KafkaSettings.producer(Weights.checkKafka(kafka), null);
        p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        long needed = (long) chunkBytes + CHUNK_HEADROOM_BYTES;
        Object configured = p.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (configured == null || Long.parseLong(configured.toString().strip()) < needed) {
            p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Long.toString(needed));
        }
        // Adapter weights are dense floats: compression costs time and saves little.
        p.putIfAbsent(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "0");
        return p;
    }

    /** Stops the producer after it has sent what it holds; idempotent. */
    @Override
    public void close() {
        producer.close();
        registry.remove(versionGauge);
    }

    /** The state of the topic for one adapter, learned by reading it from the beginning to its end. */
    private record Scan(TreeMap<Long, Set<String>> liveChunks, long lastVersion) {
    }

    private static Scan scan(Properties kafka, Topic<String, SpecificRecord> topic, String adapter, Duration topicWait) {
        TreeMap<Long, Set<String>> live = new TreeMap<>();
        long last = -1;
        String manifestKey = Weights.manifestKey(adapter);
        long deadline = System.nanoTime() + SCAN_TIMEOUT.toNanos();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Weights.consumerProperties(kafka),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = Weights.partition(consumer, topic.name(), topicWait);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition), SCAN_TIMEOUT).get(partition);
            while (consumer.position(partition, SCAN_TIMEOUT) < end) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("scanning " + topic.name() + " took more than " + SCAN_TIMEOUT);
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(SCAN_POLL)) {
                    long version = Weights.chunkVersion(adapter, r.key());
                    if (version >= 0) {
                        if (r.value() != null) {
                            live.computeIfAbsent(version, v -> new HashSet<>()).add(r.key());
                        } else if (live.containsKey(version)) {
                            live.get(version).remove(r.key());
                            if (live.get(version).isEmpty()) {
                                live.remove(version);
                            }
                        }
                    } else if (manifestKey.equals(r.key()) && r.value() != null) {
                        try {
                            if (topic.valueSerde().deserializer().deserialize(r.topic(), r.value())
                                    instanceof WeightManifest m && adapter.equals(m.getAdapter())) {
                                last = Math.max(last, m.getVersion());
                            }
                        } catch (SerializationException e) {
                            LOG.warn("skipping undecodable manifest at {}-{} offset {}: {}", r.topic(), r.partition(),
                                    r.offset(), e.getMessage());
                        }
                    }
                }
            }
        }
        LOG.info("adapter {} on {}: last published version {}, versions with chunks {}", adapter, topic.name(), last,
                live.keySet());
        return new Scan(live, last);
    }

    /** Options of a publisher; each setter checks its value at once. */
    public static final class Builder {
        private final Properties kafka;
        private final Topic<String, SpecificRecord> topic;
        private final String adapter;
        private int chunkBytes = DEFAULT_CHUNK_BYTES;
        private int retainVersions = DEFAULT_RETAIN_VERSIONS;
        private MeterRegistry registry = Metrics.globalRegistry;
        private Duration topicWait = Weights.DEFAULT_TOPIC_WAIT;

        private Builder(Properties kafka, TopicCatalog catalog, String adapter) {
            this.kafka = Weights.checkKafka(kafka);
            this.topic = Objects.requireNonNull(catalog, "catalog").weights();
            this.adapter = Weights.checkAdapter(adapter);
        }

        /** Bytes per chunk record, 1 .. {@link #MAX_CHUNK_BYTES}; default 1 MiB. */
        public Builder chunkBytes(int chunkBytes) {
            if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
                throw new IllegalArgumentException("chunkBytes must be in 1.." + MAX_CHUNK_BYTES
                        + " (the topic's max.message.bytes less " + CHUNK_HEADROOM_BYTES + " bytes of headroom), got "
                        + chunkBytes);
            }
            this.chunkBytes = chunkBytes;
            return this;
        }

        /** How many complete versions keep their chunks on the topic, at least 1; default 2. */
        public Builder retainVersions(int retainVersions) {
            if (retainVersions < 1) {
                throw new IllegalArgumentException("retainVersions must be >= 1, got " + retainVersions);
            }
            this.retainVersions = retainVersions;
            return this;
        }

        /** Where the meters go; null (and the default) is Micrometer's global registry. */
        public Builder meterRegistry(MeterRegistry registry) {
            this.registry = registry == null ? Metrics.globalRegistry : registry;
            return this;
        }

        /** How long {@link #open} waits for a topic created a moment ago to appear (default 30 s). */
        public Builder topicWait(Duration wait) {
            this.topicWait = Weights.checkWait(wait);
            return this;
        }

        /**
         * Scans the topic for this adapter's last version and live chunks, then opens the producer.
         *
         * @throws IllegalStateException if the topic does not appear within the topic wait
         * @throws TimeoutException      if the scan takes more than a minute
         */
        public WeightPublisher open() {
            return new WeightPublisher(this, scan(kafka, topic, adapter, topicWait));
        }
    }
}
