package io.rollout.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.UndecodableRecordException.Reason;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

    private final TopicCatalog catalog = TopicCatalog.defaults();
    private final Random random = new Random(7);

    @Test
    void shouldRoundTripEveryRecordThroughItsTopicSerde() {
        assertRoundTrip(catalog.tasks(), SampleRecords.task());
        assertRoundTrip(catalog.steps(), SampleRecords.step(random, 300, 40));
        assertRoundTrip(catalog.samples(), SampleRecords.sample(random));
        assertRoundTrip(catalog.weights(), SampleRecords.manifest());
        assertRoundTrip(catalog.weights(), SampleRecords.chunk(random));
        assertRoundTrip(catalog.dropped(), SampleRecords.dropped());
    }

    @Test
    void shouldKeepPackedTokensAndLogProbsExact() {
        int[] prompt = SampleRecords.tokens(random, 513);
        float[] logProbs = SampleRecords.logProbs(random, 77);
        Step step = Step.newBuilder(SampleRecords.step(random, 1, 1))
                .setPromptTokens(Packed.ints(prompt))
                .setOldLogProbs(Packed.floats(logProbs))
                .build();
        AvroSerde<Step> serde = AvroSerde.of(Step.class);

        Step back = serde.deserialize("rollout.steps", serde.serialize("rollout.steps", step));

        assertThat(Packed.toInts(back.getPromptTokens())).containsExactly(prompt);
        assertThat(Packed.toFloats(back.getOldLogProbs())).containsExactly(logProbs);
    }

    @Test
    void shouldTellManifestsAndChunksApartOnTheWeightsTopic() {
        AvroSerde<SpecificRecord> serde = AvroSerde.oneOf(WeightManifest.class, WeightChunk.class);
        SpecificRecord manifest = serde.deserialize("policy.weights", serde.serialize("policy.weights", SampleRecords.manifest()));
        SpecificRecord chunk = serde.deserialize("policy.weights", serde.serialize("policy.weights", SampleRecords.chunk(random)));

        assertThat(manifest).isInstanceOf(WeightManifest.class);
        assertThat(chunk).isInstanceOf(WeightChunk.class);
    }

    @Test
    void shouldPassTombstonesThrough() {
        AvroSerde<SpecificRecord> serde = AvroSerde.oneOf(WeightManifest.class, WeightChunk.class);
        assertThat(serde.serialize("policy.weights", null)).isNull();
        assertThat(serde.deserialize("policy.weights", null)).isNull();
    }

    @Test
    void shouldRejectForeignBytesNamingTheTopic() {
        AvroSerde<Step> serde = AvroSerde.of(Step.class);
        byte[] json = "{\"groupId\":\"g-1\",\"t\":0}".getBytes(StandardCharsets.UTF_8);

        assertThatThrownBy(() -> serde.deserialize("rollout.steps", json))
                .isInstanceOfSatisfying(UndecodableRecordException.class, e -> {
                    assertThat(e.topic()).isEqualTo("rollout.steps");
                    assertThat(e.reason()).isEqualTo(Reason.NOT_SINGLE_OBJECT);
                })
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("rollout.steps")
                .hasMessageContaining("single-object header");
        assertThatThrownBy(() -> serde.deserialize("rollout.steps", new byte[0]))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.NOT_SINGLE_OBJECT));
    }

    @Test
    void shouldRejectTruncatedAndCorruptedBodies() {
        AvroSerde<Step> serde = AvroSerde.of(Step.class);
        byte[] good = serde.serialize("rollout.steps", SampleRecords.step(random, 50, 10));

        byte[] truncated = Arrays.copyOf(good, good.length / 2);
        assertThatThrownBy(() -> serde.deserialize("rollout.steps", truncated))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining("rollout.steps");

        byte[] garbled = good.clone();
        // A string length of -1 (zigzag 0x01) right after the header: the group id field.
        garbled[10] = 0x01;
        assertThatThrownBy(() -> serde.deserialize("rollout.steps", garbled))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT));
    }

    @Test
    void shouldNameTheRecordTypeWhenATopicGetsAnotherRecord() {
        byte[] task = AvroSerde.of(Task.class).serialize("rollout.tasks", SampleRecords.task());

        assertThatThrownBy(() -> AvroSerde.of(Step.class).deserialize("rollout.steps", task))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.WRONG_RECORD_TYPE))
                .hasMessageContaining("payload is a Task")
                .hasMessageContaining("carries Step");
    }

    @Test
    void shouldRejectAnUnknownSchemaFingerprint() {
        byte[] bytes = AvroSerde.of(Task.class).serialize("rollout.tasks", SampleRecords.task());
        bytes[5] ^= 0x5A; // inside the 8-byte fingerprint

        assertThatThrownBy(() -> AvroSerde.of(Task.class).deserialize("rollout.tasks", bytes))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_SCHEMA))
                .hasMessageContaining("no released version of Task");
    }

    @Test
    void shouldRefuseToWriteARecordTheTopicDoesNotCarry() {
        @SuppressWarnings({"unchecked", "rawtypes"})
        AvroSerde<SpecificRecord> steps = (AvroSerde) AvroSerde.of(Step.class);

        assertThatThrownBy(() -> steps.serialize("rollout.steps", SampleRecords.task()))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("carries Step, not Task");
    }

    @Test
    void shouldRejectPackedArraysOfAPartialElement() {
        assertThatThrownBy(() -> Packed.toInts(java.nio.ByteBuffer.wrap(new byte[7])))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("7 bytes");
    }

    private static <V> void assertRoundTrip(Topic<String, V> topic, V value) {
        byte[] bytes = topic.valueSerde().serializer().serialize(topic.name(), value);
        V back = topic.valueSerde().deserializer().deserialize(topic.name(), bytes);
        assertThat(back).isEqualTo(value);
    }
}
