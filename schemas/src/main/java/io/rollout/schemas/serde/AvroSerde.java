package io.rollout.schemas.serde;

import io.rollout.schemas.Limits;
import io.rollout.schemas.serde.UndecodableRecordException.Reason;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.generic.GenericContainer;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.avro.util.ClassSecurityValidator;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for generated Avro records in single-object encoding: a two-byte marker,
 * the writer schema's 8-byte fingerprint, then the Avro binary body. No registry is
 * needed: the reader resolves every released writer version from a {@link SchemaHistory}.
 *
 * <p>One serde usually carries one record type ({@link #of}); a topic that carries
 * several (policy.weights: manifests and chunks) uses {@link #oneOf}, which dispatches
 * on the fingerprint. Null payloads (tombstones) pass through as null. Anything that
 * cannot be decoded raises {@link UndecodableRecordException} naming the topic and why.
 * Before decoding, the body is checked against its writer's schema ({@link BodyCheck}), so
 * a payload cannot make the decoder allocate more than in proportion to its size; payloads
 * above {@link Limits#MAX_RECORD_BYTES} are neither written nor read.
 * Instances are thread-safe.
 */
public final class AvroSerde<T extends GenericContainer> implements Serde<T>, Serializer<T>, Deserializer<T> {

    private static final int HEADER_BYTES = 10;

    /** Encoder per record full name: the datum's schema picks it. */
    private final Map<String, BinaryMessageEncoder<T>> encoders = new HashMap<>();
    /** Per writer fingerprint: the check of that writer's bodies and the decoder that resolves it. */
    private final Map<Long, Reader<T>> readers = new HashMap<>();
    private final SchemaHistory history;
    private final String carried;

    private AvroSerde(GenericData model, List<Schema> readerSchemas, SchemaHistory history) {
        if (readerSchemas.isEmpty()) {
            throw new IllegalArgumentException("an AvroSerde needs at least one record type");
        }
        this.history = history;
        this.carried = readerSchemas.stream().map(Schema::getName).collect(Collectors.joining(" or "));
        for (Schema current : readerSchemas) {
            if (model instanceof SpecificData) {
                trust(current);
            }
            encoders.put(current.getFullName(), new BinaryMessageEncoder<>(model, current));
            BinaryMessageDecoder<T> decoder = new BinaryMessageDecoder<>(model, current);
            readers.put(SchemaHistory.fingerprint(current), new Reader<>(BodyCheck.of(current), decoder));
            for (Schema released : history.versions(current.getFullName())) {
                decoder.addSchema(released);
                // Bytes are laid out by their writer: check them against the released schema, not the reader's.
                readers.put(SchemaHistory.fingerprint(released), new Reader<>(BodyCheck.of(released), decoder));
            }
        }
    }

    private static List<Schema> classSchemas(List<Class<? extends SpecificRecordBase>> types) {
        return types.stream().map(t -> SpecificData.getForClass(t).getSchema(t)).toList();
    }

    /** A serde for one record type that reads every released version of it. */
    public static <T extends SpecificRecordBase> AvroSerde<T> of(Class<T> type) {
        return of(type, SchemaHistory.released());
    }

    public static <T extends SpecificRecordBase> AvroSerde<T> of(Class<T> type, SchemaHistory history) {
        return new AvroSerde<>(SpecificData.getForClass(type), classSchemas(List.of(type)), history);
    }

    /** A serde for a topic that carries several record types, told apart by fingerprint. */
    @SafeVarargs
    public static AvroSerde<SpecificRecord> oneOf(Class<? extends SpecificRecordBase>... types) {
        return new AvroSerde<>(SpecificData.get(), classSchemas(Arrays.asList(types)), SchemaHistory.released());
    }

    /**
     * A serde of generic records read with {@code readerSchema}, for tools that handle
     * records without their generated classes (and for schema-evolution tests).
     */
    public static AvroSerde<GenericRecord> generic(Schema readerSchema, SchemaHistory history) {
        return new AvroSerde<>(GenericData.get(), List.of(readerSchema), history);
    }

    @Override
    public byte[] serialize(String topic, T data) {
        if (data == null) {
            return null;
        }
        BinaryMessageEncoder<T> encoder = encoders.get(data.getSchema().getFullName());
        if (encoder == null) {
            throw new SerializationException("topic '" + topic + "' carries " + carried
                    + ", not " + data.getSchema().getName());
        }
        byte[] bytes;
        try {
            bytes = toArray(encoder.encode(data));
        } catch (java.io.IOException | RuntimeException e) {
            throw new SerializationException("cannot encode " + data.getSchema().getName()
                    + " for topic '" + topic + "': " + e.getMessage(), e);
        }
        if (bytes.length > Limits.MAX_RECORD_BYTES) {
            throw new SerializationException("cannot encode " + data.getSchema().getName() + " for topic '" + topic
                    + "': " + bytes.length + " bytes is above Limits.MAX_RECORD_BYTES (" + Limits.MAX_RECORD_BYTES
                    + "), which every reader refuses");
        }
        return bytes;
    }

    @Override
    public T deserialize(String topic, byte[] data) {
        if (data == null) {
            return null;
        }
        if (data.length < HEADER_BYTES || data[0] != (byte) 0xC3 || data[1] != (byte) 0x01) {
            throw new UndecodableRecordException(topic, Reason.NOT_SINGLE_OBJECT,
                    data.length + " bytes without the Avro single-object header C3 01", null);
        }
        long fingerprint = ByteBuffer.wrap(data, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        Reader<T> reader = readers.get(fingerprint);
        if (reader == null) {
            throw unknown(topic, fingerprint);
        }
        if (data.length > Limits.MAX_RECORD_BYTES) {
            throw new UndecodableRecordException(topic, Reason.CORRUPT, "a " + carried + " of " + data.length
                    + " bytes is above Limits.MAX_RECORD_BYTES (" + Limits.MAX_RECORD_BYTES + ")", null);
        }
        // Avro allocates what a length or count declares before reading it: check first that the bytes hold it.
        String problem = reader.check().problem(data, HEADER_BYTES);
        if (problem != null) {
            throw new UndecodableRecordException(topic, Reason.CORRUPT, "malformed " + carried + " body: " + problem,
                    null);
        }
        try {
            return reader.decoder().decode(data);
        } catch (java.io.IOException | RuntimeException e) {
            throw new UndecodableRecordException(topic, Reason.CORRUPT,
                    "malformed " + carried + " body of " + data.length + " bytes (" + e + ")", e);
        }
    }

    private record Reader<T>(BodyCheck check, BinaryMessageDecoder<T> decoder) {
    }

    private UndecodableRecordException unknown(String topic, long fingerprint) {
        String fp = String.format("%016x", fingerprint);
        Optional<Schema> other = history.find(fingerprint);
        if (other.isPresent()) {
            return new UndecodableRecordException(topic, Reason.WRONG_RECORD_TYPE,
                    "payload is a " + other.get().getName() + " (fingerprint " + fp + "), the topic carries " + carried, null);
        }
        return new UndecodableRecordException(topic, Reason.UNKNOWN_SCHEMA,
                "fingerprint " + fp + " is no released version of " + carried
                        + " (written by a newer release, or not by this project)", null);
    }

    private static byte[] toArray(ByteBuffer buffer) {
        if (buffer.hasArray() && buffer.arrayOffset() == 0 && buffer.position() == 0
                && buffer.remaining() == buffer.array().length) {
            return buffer.array();
        }
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }

    private static final Set<String> TRUSTED = new HashSet<>();

    /**
     * Avro 1.12 instantiates only classes it was told to trust: trust the record and
     * every record or enum nested in it.
     */
    private static synchronized void trust(Schema schema) {
        ClassSecurityValidator.Builder trusted = ClassSecurityValidator.builder();
        boolean added = false;
        for (String name : namedTypes(schema, new LinkedHashSet<>())) {
            if (TRUSTED.add(name)) {
                trusted.add(name);
                added = true;
            }
        }
        if (added) {
            ClassSecurityValidator.setGlobal(
                    ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(), trusted.build()));
        }
    }

    private static Set<String> namedTypes(Schema schema, Set<String> into) {
        switch (schema.getType()) {
            case RECORD -> {
                if (into.add(schema.getFullName())) {
                    schema.getFields().forEach(f -> namedTypes(f.schema(), into));
                }
            }
            case ENUM, FIXED -> into.add(schema.getFullName());
            case ARRAY -> namedTypes(schema.getElementType(), into);
            case MAP -> namedTypes(schema.getValueType(), into);
            case UNION -> schema.getTypes().forEach(t -> namedTypes(t, into));
            default -> {
            }
        }
        return into;
    }

    @Override
    public Serializer<T> serializer() {
        return this;
    }

    @Override
    public Deserializer<T> deserializer() {
        return this;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        // Configured at construction; Kafka clients call this when they own the serde.
    }

    @Override
    public void close() {
        // Nothing to release; Kafka clients call this on shutdown.
    }
}
