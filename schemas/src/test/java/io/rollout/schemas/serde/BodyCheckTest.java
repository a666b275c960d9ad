package io.rollout.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.records.WeightChunk;
import io.rollout.schemas.Limits;
import io.rollout.schemas.serde.UndecodableRecordException.Reason;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/** The body check's rules on hand-made payloads of small generic schemas. */
class BodyCheckTest {

    private static final Schema NULLS = new Schema.Parser().parse("""
            {"type": "record", "name": "Nulls", "fields": [{"name": "items", "type": {"type": "array", "items": "null"}}]}
            """);
    private static final Schema INTS = new Schema.Parser().parse("""
            {"type": "record", "name": "Ints", "fields": [{"name": "items", "type": {"type": "array", "items": "int"}}]}
            """);
    private static final Schema CHOICE = new Schema.Parser().parse("""
            {"type": "record", "name": "Choice", "fields": [
              {"name": "u", "type": ["null", "string"]},
              {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}}]}
            """);
    private static final Schema LIST = new Schema.Parser().parse("""
            {"type": "record", "name": "Node", "fields": [{"name": "next", "type": ["null", "Node"]}]}
            """);

    @Test
    void shouldDecodeWhatItsWriterWrote() {
        GenericRecord ints = new GenericData.Record(INTS);
        ints.put("items", List.of(1, -2, 300_000));
        GenericRecord choice = new GenericData.Record(CHOICE);
        choice.put("u", "x");
        choice.put("e", new GenericData.EnumSymbol(CHOICE.getField("e").schema(), "GREEN"));

        assertThat(roundTrip(INTS, ints).get("items").toString()).isEqualTo("[1, -2, 300000]");
        assertThat(roundTrip(CHOICE, choice).get("u").toString()).isEqualTo("x");
    }

    @Test
    void shouldCapItemsThatTakeNoBytes() {
        assertThat(decode(NULLS, 2L * 10, 0).get("items")).asList().hasSize(10);

        ByteArrayOutputStream tooMany = new ByteArrayOutputStream();
        HostileRecords.header(tooMany, SchemaHistory.fingerprint(NULLS));
        HostileRecords.varint(tooMany, BodyCheck.MAX_EMPTY_ITEMS + 1);
        tooMany.write(0);
        assertRefused(NULLS, tooMany.toByteArray(), "items that may take no bytes");
    }

    @Test
    void shouldRefuseABlockWhoseByteSizeIsNotWhatItsItemsTake() {
        // A block of 2 items (count -2: zig-zag 3) said to take 3 bytes, but the ints 1 and 2 take 2.
        assertRefused(INTS, payload(INTS, 3, 6, 2, 4, 0), "declares 3 bytes");
        assertThat(decode(INTS, 3, 4, 2, 4, 0).get("items").toString()).isEqualTo("[1, 2]");
    }

    @Test
    void shouldRefuseUnionAndEnumIndicesOutOfRange() {
        assertRefused(CHOICE, payload(CHOICE, 4, 2), "union index 2");
        assertRefused(CHOICE, payload(CHOICE, 0, 4), "Color index 2");
        assertRefused(CHOICE, payload(CHOICE, 0, 1), "Color index -1");
    }

    @Test
    void shouldRefuseOverlongVarintsAndTrailingBytes() {
        assertRefused(INTS, payload(INTS, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0), "longer than 5 bytes");
        assertRefused(INTS, payload(INTS, 0, 7, 7), "2 bytes follow the record");
    }

    @Test
    void shouldRefuseNestingBeyondItsDepthWithoutOverflowingTheStack() {
        long[] deep = new long[BodyCheck.MAX_DEPTH * 10 + 1];
        Arrays.fill(deep, 2); // branch 1: another Node, then a last null
        deep[deep.length - 1] = 0;
        assertRefused(LIST, payload(LIST, deep), "nested more than " + BodyCheck.MAX_DEPTH);

        long[] shallow = new long[] {2, 2, 0};
        assertThat(decode(LIST, shallow).toString()).isEqualTo("{\"next\": {\"next\": {\"next\": null}}}");
    }

    @Test
    void shouldNeitherWriteNorReadARecordAboveTheLimit() {
        WeightChunk huge = new WeightChunk("a", 1L, 0, ByteBuffer.allocate(Limits.MAX_RECORD_BYTES));
        AvroSerde<WeightChunk> serde = AvroSerde.of(WeightChunk.class);
        assertThatThrownBy(() -> serde.serialize("policy.weights", huge))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("MAX_RECORD_BYTES");

        byte[] tooLong = Arrays.copyOf(serde.serialize("policy.weights", new WeightChunk("a", 1L, 0,
                ByteBuffer.allocate(16))), Limits.MAX_RECORD_BYTES + 1);
        assertThatThrownBy(() -> serde.deserialize("policy.weights", tooLong))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining("MAX_RECORD_BYTES");
    }

    private static GenericRecord roundTrip(Schema schema, GenericRecord record) {
        AvroSerde<GenericRecord> serde = AvroSerde.generic(schema, SchemaHistory.of(List.of()));
        return serde.deserialize("t", serde.serialize("t", record));
    }

    private static GenericRecord decode(Schema schema, long... body) {
        return AvroSerde.generic(schema, SchemaHistory.of(List.of())).deserialize("t", payload(schema, body));
    }

    private static void assertRefused(Schema schema, byte[] payload, String why) {
        assertThatThrownBy(() -> AvroSerde.generic(schema, SchemaHistory.of(List.of())).deserialize("t", payload))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining(why);
    }

    /** The header of {@code schema}, then the body, one byte per value. */
    private static byte[] payload(Schema schema, long... body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        HostileRecords.header(out, SchemaHistory.fingerprint(schema));
        for (long b : body) {
            out.write((int) b);
        }
        return out.toByteArray();
    }
}
