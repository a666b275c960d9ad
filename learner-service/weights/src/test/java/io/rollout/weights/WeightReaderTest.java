package io.rollout.weights;

import static io.rollout.weights.WeightFixtures.kafka;
import static io.rollout.weights.WeightFixtures.lora;
import static io.rollout.weights.WeightFixtures.pollUntil;
import static io.rollout.weights.WeightFixtures.provisioned;
import static io.rollout.weights.WeightFixtures.randomBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.Limits;
import io.rollout.schemas.serde.SchemaHistory;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Reading on the shared embedded broker: what a reader accepts, rejects, skips and ignores. */
class WeightReaderTest {

    private static final int CHUNK = 100;

    @Test
    void shouldRejectACorruptVersionAndKeepThePreviousOne() throws Exception {
        TopicCatalog catalog = provisioned("corrupt");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        byte[] v1 = randomBytes(250, 1);
        byte[] v2 = randomBytes(250, 2);
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open();
             WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open();
             KafkaProducer<String, SpecificRecord> raw = WeightFixtures.rawProducer(catalog)) {
            publisher.publish(1, v1, lora());
            byte[] flipped = v2.clone();
            flipped[CHUNK + 7] ^= 0x01;
            writeChunks(raw, catalog, 2, flipped, 0, 1, 2);
            raw.send(record(catalog, "main/manifest", manifest(2, v2, 3))).get();

            pollUntil(reader, () -> rejected(registry, "corrupt") == 1, "the corrupt version to be rejected");

            assertThat(reader.currentVersion()).isEqualTo(1);
            assertThat(reader.latest().orElseThrow().bytes()).isEqualTo(v1);
            assertThat(rejected(registry, "incomplete")).isZero();

            // A later good version is still accepted.
            publisher.publish(3, v2, lora());
            pollUntil(reader, () -> reader.currentVersion() == 3, "version 3");
            assertThat(reader.latest().orElseThrow().bytes()).isEqualTo(v2);
        }
    }

    @Test
    void shouldRejectAVersionWithAMissingChunkAndKeepThePreviousOne() throws Exception {
        TopicCatalog catalog = provisioned("incomplete");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        byte[] v1 = randomBytes(250, 1);
        byte[] v2 = randomBytes(250, 2);
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open();
             WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open();
             KafkaProducer<String, SpecificRecord> raw = WeightFixtures.rawProducer(catalog)) {
            publisher.publish(1, v1, lora());
            writeChunks(raw, catalog, 2, v2, 0, 2); // chunk 1 never written
            raw.send(record(catalog, "main/manifest", manifest(2, v2, 3))).get();

            pollUntil(reader, () -> rejected(registry, "incomplete") == 1, "the incomplete version to be rejected");

            assertThat(reader.currentVersion()).isEqualTo(1);
            assertThat(reader.latest().orElseThrow().bytes()).isEqualTo(v1);
            assertThat(rejected(registry, "corrupt")).isZero();
            assertThat(registry.get("rollout.weights.version").gauge().value()).isEqualTo(1);
        }
    }

    @Test
    void shouldEndOnTheNewestVersionWhenStartedLateAndIgnoreStaleManifests() throws Exception {
        TopicCatalog catalog = provisioned("late");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open();
             KafkaProducer<String, SpecificRecord> raw = WeightFixtures.rawProducer(catalog)) {
            for (int v = 1; v <= 3; v++) {
                publisher.publish(v, randomBytes(250, v), lora());
            }
            try (WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open()) {
                List<Long> seen = new CopyOnWriteArrayList<>();
                reader.addListener(version -> seen.add(version.version()));

                pollUntil(reader, () -> reader.currentVersion() == 3, "version 3");
                assertThat(reader.latest().orElseThrow().bytes()).isEqualTo(randomBytes(250, 3));

                // A valid but stale manifest (version 2's chunks are still on the topic), then version 4.
                raw.send(record(catalog, "main/manifest", manifest(2, randomBytes(250, 2), 3))).get();
                publisher.publish(4, randomBytes(250, 4), lora());
                pollUntil(reader, () -> reader.currentVersion() == 4, "version 4");

                assertThat(seen).containsExactly(1L, 2L, 3L, 4L);
                assertThat(registry.find("rollout.weights.rejected").counters())
                        .allSatisfy(c -> assertThat(c.count()).isZero());
            }
        }
    }

    @Test
    void shouldSkipAnUndecodableRecordAndKeepGoing() throws Exception {
        TopicCatalog catalog = provisioned("undecodable");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (KafkaProducer<String, byte[]> bytes = WeightFixtures.bytesProducer()) {
            bytes.send(new ProducerRecord<>(catalog.weights().name(), "main/manifest", randomBytes(64, 9))).get();
            byte[] badBody = randomBytes(64, 10);
            badBody[0] = (byte) 0xC3; // the single-object marker, then an unknown fingerprint
            badBody[1] = 0x01;
            bytes.send(new ProducerRecord<>(catalog.weights().name(), "main/1/0", badBody)).get();
        }
        try (WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open();
             WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open()) {
            publisher.publish(1, randomBytes(250, 1), lora());

            pollUntil(reader, () -> reader.currentVersion() == 1, "version 1 after the undecodable records");

            assertThat(rejected(registry, "undecodable")).isEqualTo(2);
            assertThat(registry.get("rollout.weights.accepted").counter().count()).isEqualTo(1);
        }
    }

    @Test
    void shouldSkipAHostile15ByteManifestOnItsThreadAndDeliverTheNextVersion() throws Exception {
        TopicCatalog catalog = provisioned("hostile");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (KafkaProducer<String, byte[]> bytes = WeightFixtures.bytesProducer()) {
            bytes.send(new ProducerRecord<>(catalog.weights().name(), "main/manifest", hostileManifest())).get();
        }
        try (WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open();
             WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open()) {
            reader.start();
            publisher.publish(1, randomBytes(250, 1), lora());

            AdapterVersion v1 = reader.awaitVersion(1, Duration.ofSeconds(30));

            assertThat(v1.bytes()).isEqualTo(randomBytes(250, 1));
            assertThat(rejected(registry, "undecodable")).isEqualTo(1);
            assertThat(reader.healthy()).isTrue();
            assertThat(reader.state()).isEqualTo(WeightReader.State.RUNNING);
        }
    }

    @Test
    void shouldReportAnErrorThatEndsItsThreadInsteadOfDyingSilently() throws Exception {
        TopicCatalog catalog = provisioned("error");
        Error injected = new Error("injected by a listener");
        CompletableFuture<Throwable> reported = new CompletableFuture<>();
        try (WeightReader reader = WeightReader.builder(kafka(), catalog, "main")
                .meterRegistry(new SimpleMeterRegistry()).open();
             WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open()) {
            reader.addListener(version -> {
                throw injected;
            });
            reader.onFailure(reported::complete);
            reader.start();
            publisher.publish(1, randomBytes(250, 1), lora());
            publisher.publish(2, randomBytes(250, 2), lora());

            // The thread is gone after version 1: a waiter learns why at once instead of timing out.
            assertThatThrownBy(() -> reader.awaitVersion(2, Duration.ofSeconds(20)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasCause(injected);
            assertThat(reader.healthy()).isFalse();
            assertThat(reader.failure()).containsSame(injected);
            assertThat(reader.state()).isEqualTo(WeightReader.State.FAILED);
            assertThat(reported.get(10, TimeUnit.SECONDS)).isSameAs(injected);
            assertThat(reader.currentVersion()).isEqualTo(1);

            List<Throwable> late = new ArrayList<>();
            reader.onFailure(late::add);
            assertThat(late).as("a callback added after the failure hears of it at once").containsExactly(injected);
        }
    }

    @Test
    void shouldRejectAManifestBeyondTheLimitsWithoutAllocatingByItsCounts() throws Exception {
        TopicCatalog catalog = provisioned("oversized");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        byte[] v1 = randomBytes(250, 1);
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(CHUNK).open();
             WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open();
             KafkaProducer<String, SpecificRecord> raw = WeightFixtures.rawProducer(catalog)) {
            publisher.publish(1, v1, lora());
            // Two billion chunks (the reader used to list every missing index), then 2^40 bytes in 3 chunks.
            raw.send(record(catalog, "main/manifest", WeightManifest.newBuilder(manifest(2, v1, 3))
                    .setChunkCount(Integer.MAX_VALUE).build())).get();
            raw.send(record(catalog, "main/manifest", WeightManifest.newBuilder(manifest(3, v1, 3))
                    .setTotalBytes(1L << 40).build())).get();
            // A chunk whose index is beyond any manifest's reach, and one that is not.
            raw.send(record(catalog, "main/4/" + Limits.MAX_CHUNK_COUNT, WeightChunk.newBuilder().setAdapter("main")
                    .setVersion(4).setIndex(Limits.MAX_CHUNK_COUNT).setData(ByteBuffer.wrap(new byte[1])).build())).get();
            raw.send(record(catalog, "main/manifest", WeightManifest.newBuilder(manifest(3, v1, 3))
                    .setChunkCount(0).build())).get();

            pollUntil(reader, () -> rejected(registry, "oversized") == 3 && rejected(registry, "corrupt") == 1,
                    "two oversized manifests, an oversized chunk and a corrupt manifest");
            assertThat(reader.currentVersion()).isEqualTo(1);

            byte[] v5 = randomBytes(250, 5);
            publisher.publish(5, v5, lora());
            pollUntil(reader, () -> reader.currentVersion() == 5, "version 5 after the oversized records");
            assertThat(reader.latest().orElseThrow().bytes()).isEqualTo(v5);
            assertThat(reader.healthy()).isTrue();
        }
    }

    /** A WeightManifest header, then a 1.5 GB adapter name in 5 bytes: 15 bytes in all. */
    private static byte[] hostileManifest() {
        ByteBuffer b = ByteBuffer.allocate(15).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0xC3).put((byte) 0x01).putLong(SchemaHistory.fingerprint(WeightManifest.getClassSchema()));
        long zigzag = 2 * 1_500_000_000L;
        for (int i = 0; i < 4; i++) {
            b.put((byte) ((zigzag & 0x7F) | 0x80));
            zigzag >>>= 7;
        }
        b.put((byte) zigzag);
        return b.array();
    }

    private static double rejected(SimpleMeterRegistry registry, String reason) {
        return registry.get("rollout.weights.rejected").tag("reason", reason).counter().count();
    }

    private static void writeChunks(KafkaProducer<String, SpecificRecord> raw, TopicCatalog catalog, long version,
            byte[] bytes, int... indices) throws Exception {
        for (int i : indices) {
            byte[] data = Arrays.copyOfRange(bytes, i * CHUNK, Math.min(bytes.length, (i + 1) * CHUNK));
            raw.send(record(catalog, "main/" + version + "/" + i, WeightChunk.newBuilder().setAdapter("main")
                    .setVersion(version).setIndex(i).setData(ByteBuffer.wrap(data)).build())).get();
        }
    }

    /** A manifest carrying the true size and SHA-256 of {@code bytes}. */
    private static WeightManifest manifest(long version, byte[] bytes, int chunkCount) throws Exception {
        return WeightManifest.newBuilder().setAdapter("main").setVersion(version)
                .setSha256(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)))
                .setChunkCount(chunkCount).setTotalBytes(bytes.length).setLora(lora())
                .setCreatedAtMs(System.currentTimeMillis()).build();
    }

    private static ProducerRecord<String, SpecificRecord> record(TopicCatalog catalog, String key,
            SpecificRecord value) {
        return new ProducerRecord<>(catalog.weights().name(), key, value);
    }
}
