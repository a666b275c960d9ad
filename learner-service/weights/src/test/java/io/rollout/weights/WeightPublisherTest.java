package io.rollout.weights;

import static io.rollout.weights.WeightFixtures.kafka;
import static io.rollout.weights.WeightFixtures.lastValues;
import static io.rollout.weights.WeightFixtures.lora;
import static io.rollout.weights.WeightFixtures.provisioned;
import static io.rollout.weights.WeightFixtures.randomBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.Limits;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.weights.WeightPublisher.PublishResult;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeoutException;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** Publishing on the shared embedded broker: round trip, retention, restart, options. */
class WeightPublisherTest {

    @Test
    void shouldRoundTripAMultiChunkVersionThroughARunningReader() throws Exception {
        TopicCatalog catalog = provisioned("roundtrip");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        byte[] bytes = randomBytes(2_500, 1);
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(1_000)
                .meterRegistry(registry).open();
             WeightReader reader = WeightReader.builder(kafka(), catalog, "main").meterRegistry(registry).open()) {
            reader.start();
            assertThat(publisher.lastPublishedVersion()).isEqualTo(-1);

            PublishResult result = publisher.publish(1, bytes, lora());
            AdapterVersion read = reader.awaitVersion(1, Duration.ofSeconds(30));

            assertThat(read.bytes()).isEqualTo(bytes);
            WeightManifest m = read.manifest();
            assertThat(m).isEqualTo(result.manifest());
            assertThat(m.getAdapter()).isEqualTo("main");
            assertThat(m.getVersion()).isEqualTo(1);
            assertThat(m.getSha256()).isEqualTo(HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(bytes)));
            assertThat(m.getChunkCount()).isEqualTo(3);
            assertThat(m.getTotalBytes()).isEqualTo(2_500);
            assertThat(m.getFormat()).isEqualTo("peft-safetensors");
            assertThat(m.getLora()).isEqualTo(lora());
            assertThat(m.getCreatedAtMs()).isPositive();
            assertThat(reader.latest()).contains(read);
            assertThat(reader.currentVersion()).isEqualTo(1);
            assertThat(publisher.lastPublishedVersion()).isEqualTo(1);
            assertThatThrownBy(() -> reader.awaitVersion(2, Duration.ofMillis(200)))
                    .isInstanceOf(TimeoutException.class).hasMessageContaining("no version >= 2");

            assertThat(registry.get("rollout.weights.publish").tag("adapter", "main").timer().count()).isEqualTo(1);
            assertThat(registry.get("rollout.weights.published.bytes").counter().count()).isEqualTo(2_500);
            assertThat(registry.get("rollout.weights.published.version").gauge().value()).isEqualTo(1);
            assertThat(registry.get("rollout.weights.version").gauge().value()).isEqualTo(1);
            assertThat(registry.get("rollout.weights.accepted").counter().count()).isEqualTo(1);
            assertThat(registry.get("rollout.weights.readable.latency").timer().count()).isEqualTo(1);
        }
    }

    @Test
    void shouldIgnoreVersionsOfOtherAdapters() throws Exception {
        TopicCatalog catalog = provisioned("adapters");
        try (WeightPublisher main = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(100).open();
             WeightPublisher other = WeightPublisher.builder(kafka(), catalog, "other").chunkBytes(100).open();
             WeightReader reader = WeightReader.builder(kafka(), catalog, "main").open()) {
            byte[] mine = randomBytes(150, 1);
            main.publish(1, mine, lora());
            other.publish(7, randomBytes(150, 2), lora());
            main.publish(2, randomBytes(10, 3), lora());

            WeightFixtures.pollUntil(reader, () -> reader.currentVersion() == 2, "version 2");

            assertThat(other.lastPublishedVersion()).isEqualTo(7);
            assertThat(main.lastPublishedVersion()).isEqualTo(2);
            assertThat(reader.latest().orElseThrow().manifest().getAdapter()).isEqualTo("main");
        }
    }

    @Test
    void shouldTombstoneRetiredVersionsAndRememberThemAfterARestart() throws Exception {
        TopicCatalog catalog = provisioned("retention");
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(100)
                .retainVersions(2).open()) {
            assertThat(publisher.publish(1, randomBytes(250, 1), lora()).retiredVersions()).isEmpty();
            assertThat(publisher.publish(2, randomBytes(250, 2), lora()).retiredVersions()).isEmpty();
            assertThat(publisher.publish(3, randomBytes(250, 3), lora()).retiredVersions()).containsExactly(1L);
            assertThat(publisher.publish(4, randomBytes(250, 4), lora()).retiredVersions()).containsExactly(2L);
        }

        Map<String, byte[]> last = lastValues(catalog);
        for (int index = 0; index < 3; index++) {
            assertThat(last).containsEntry("main/1/" + index, null).containsEntry("main/2/" + index, null);
            assertThat(last.get("main/3/" + index)).isNotNull();
            assertThat(last.get("main/4/" + index)).isNotNull();
        }
        assertThat(last.get("main/manifest")).isNotNull();

        try (WeightPublisher restarted = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(100)
                .retainVersions(2).open()) {
            assertThat(restarted.lastPublishedVersion()).isEqualTo(4);
            assertThatThrownBy(() -> restarted.publish(4, randomBytes(10, 5), lora()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("version 4").hasMessageContaining("last published version 4");
            assertThatThrownBy(() -> restarted.publish(2, randomBytes(10, 5), lora()))
                    .isInstanceOf(IllegalArgumentException.class);

            // It learned version 3's chunk keys from the topic, so it retires them.
            assertThat(restarted.publish(5, randomBytes(250, 5), lora()).retiredVersions()).containsExactly(3L);
        }
        assertThat(lastValues(catalog)).containsEntry("main/3/0", null).containsEntry("main/3/2", null);
    }

    @Test
    void shouldRetireChunksOfAnInterruptedPublishAfterARestart() throws Exception {
        TopicCatalog catalog = provisioned("orphans");
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(100).open()) {
            publisher.publish(1, randomBytes(150, 1), lora());
        }
        // Chunks of version 2 without a manifest: a publisher that died half-way.
        try (KafkaProducer<String, SpecificRecord> raw = WeightFixtures.rawProducer(catalog)) {
            raw.send(new ProducerRecord<>(catalog.weights().name(), "main/2/0", WeightChunk.newBuilder()
                    .setAdapter("main").setVersion(2).setIndex(0).setData(ByteBuffer.wrap(randomBytes(100, 2)))
                    .build())).get();
        }
        try (WeightPublisher restarted = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(100).open()) {
            assertThat(restarted.lastPublishedVersion()).isEqualTo(1);
            // Version 1 and the new 3 are the two retained; the orphan 2 goes.
            assertThat(restarted.publish(3, randomBytes(150, 3), lora()).retiredVersions()).containsExactly(2L);
        }
        assertThat(lastValues(catalog)).containsEntry("main/2/0", null);
        assertThat(lastValues(catalog).get("main/1/0")).isNotNull();
    }

    @Test
    void shouldRejectBadOptionsNamingThem() throws Exception {
        TopicCatalog catalog = TopicCatalog.defaults();
        Properties kafka = kafka();
        WeightPublisher.Builder builder = WeightPublisher.builder(kafka, catalog, "main");

        assertThatThrownBy(() -> builder.chunkBytes(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chunkBytes");
        assertThatThrownBy(() -> builder.chunkBytes(TopicCatalog.WEIGHTS_MAX_MESSAGE_BYTES))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chunkBytes")
                .hasMessageContaining(Integer.toString(WeightPublisher.MAX_CHUNK_BYTES));
        assertThat(builder.chunkBytes(WeightPublisher.MAX_CHUNK_BYTES)).isSameAs(builder);
        assertThatThrownBy(() -> builder.retainVersions(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retainVersions");
        assertThatThrownBy(() -> WeightPublisher.builder(kafka, catalog, "a/b"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter");
        assertThatThrownBy(() -> WeightReader.builder(kafka, catalog, " "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter");
        assertThatThrownBy(() -> WeightReader.builder(new Properties(), catalog, "main"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bootstrap.servers");
        assertThatThrownBy(() -> WeightPublisher.builder(kafka, TopicCatalog.builder().prefix("missing.").build(),
                "main").topicWait(Duration.ofMillis(500)).open())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("missing.policy.weights");
    }

    @Test
    void shouldRefuseAVersionThatNeedsMoreChunksThanReadersAccept() throws Exception {
        TopicCatalog catalog = provisioned("chunk-limit");
        try (WeightPublisher publisher = WeightPublisher.builder(kafka(), catalog, "main").chunkBytes(1).open()) {
            assertThatThrownBy(() -> publisher.publish(1, new byte[Limits.MAX_CHUNK_COUNT + 1], lora()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Limits.MAX_CHUNK_COUNT")
                    .hasMessageContaining("raise chunkBytes to at least 2");
            assertThat(publisher.lastPublishedVersion()).isEqualTo(-1);
            assertThat(lastValues(catalog)).isEmpty();
        }
    }

    @Test
    void shouldRaiseTheRequestSizeToFitAChunkAndForceIdempotentAcksAll() {
        Properties given = kafka();
        given.put("acks", "1");
        given.put("max.request.size", "1000");
        Properties p = WeightPublisher.producerProperties(given, 4 * 1024 * 1024);

        assertThat(p.getProperty("acks")).isEqualTo("all");
        assertThat(p.getProperty("enable.idempotence")).isEqualTo("true");
        assertThat(Long.parseLong(p.getProperty("max.request.size")))
                .isEqualTo(4L * 1024 * 1024 + WeightPublisher.CHUNK_HEADROOM_BYTES);
        assertThat(p.getProperty("compression.type")).isEqualTo("none");
    }
}
