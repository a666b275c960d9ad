package io.rollout.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.rollout.records.Task;
import io.rollout.schemas.serde.HostileRecords.Hostile;
import io.rollout.schemas.serde.UndecodableRecordException.Reason;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Payloads built to make a decoder allocate: every topic's serde must refuse them as
 * {@link Reason#CORRUPT} after allocating little, whatever released writer version their
 * fingerprint names, and random damage to valid payloads must never raise anything else.
 */
class HostileRecordTest {

    /** Far below what decoding a declared length would cost, far above what checking a few bytes does. */
    private static final long ALLOCATION_BUDGET = 8L * 1024 * 1024;
    private static final TopicCatalog CATALOG = TopicCatalog.defaults();
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Every topic that carries Avro records, with a sample of each record type it carries. */
    private static Map<Topic<String, ?>, List<SpecificRecord>> samples() {
        Random random = new Random(3);
        Map<Topic<String, ?>, List<SpecificRecord>> samples = new LinkedHashMap<>();
        samples.put(CATALOG.tasks(), List.of(SampleRecords.task()));
        samples.put(CATALOG.steps(), List.of(SampleRecords.step(random, 40, 12)));
        samples.put(CATALOG.samples(), List.of(SampleRecords.sample(random)));
        samples.put(CATALOG.weights(), List.of(SampleRecords.manifest(), SampleRecords.chunk(random)));
        samples.put(CATALOG.dropped(), List.of(SampleRecords.dropped()));
        return samples;
    }

    /** Every writer schema a topic's serde resolves: the current one and each released version. */
    private static List<Schema> writers(SpecificRecord sample) {
        Schema current = sample.getSchema();
        Map<Long, Schema> byFingerprint = new LinkedHashMap<>();
        for (Schema released : SchemaHistory.released().versions(current.getFullName())) {
            byFingerprint.put(SchemaHistory.fingerprint(released), released);
        }
        byFingerprint.putIfAbsent(SchemaHistory.fingerprint(current), current);
        return List.copyOf(byFingerprint.values());
    }

    static Stream<Arguments> hostilePayloads() {
        List<Arguments> cases = new ArrayList<>();
        samples().forEach((topic, records) -> {
            for (SpecificRecord sample : records) {
                for (Schema writer : writers(sample)) {
                    // Above -Xmx (an OutOfMemoryError without a check), and within it (a large allocation).
                    for (long declared : new long[] {1_500_000_000L, 300_000_000L}) {
                        for (Hostile h : HostileRecords.of(writer, declared)) {
                            cases.add(Arguments.of(topic.name(), h));
                        }
                    }
                }
            }
        });
        assertThat(cases).hasSizeGreaterThan(50);
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("hostilePayloads")
    void shouldRefuseADeclaredLengthThePayloadDoesNotHoldWithoutAllocatingIt(String topic, Hostile hostile) {
        Deserializer<?> serde = serdeOf(topic);
        long before = THREADS.getCurrentThreadAllocatedBytes();

        Throwable thrown = catchAll(() -> serde.deserialize(topic, hostile.bytes()));

        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        assertThat(thrown).isInstanceOfSatisfying(UndecodableRecordException.class, e -> {
            assertThat(e.reason()).isEqualTo(Reason.CORRUPT);
            assertThat(e.topic()).isEqualTo(topic);
        });
        assertThat(allocated).as("bytes allocated refusing %s", hostile).isLessThan(ALLOCATION_BUDGET);
    }

    @Test
    void shouldRefuseThe15ByteTaskThatDeclaresA1500MegabyteStringNamingTheField() {
        ByteArrayOutputStream payload = new ByteArrayOutputStream();
        HostileRecords.header(payload, SchemaHistory.fingerprint(Task.getClassSchema()));
        HostileRecords.varint(payload, 1_500_000_000L); // the group id's length
        byte[] bytes = payload.toByteArray();
        assertThat(bytes).hasSize(15);

        assertThatThrownBy(() -> CATALOG.tasks().valueSerde().deserializer().deserialize("rollout.tasks", bytes))
                .isInstanceOfSatisfying(UndecodableRecordException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT))
                .hasMessageContaining("string of 1500000000 bytes")
                .hasMessageContaining("at byte 10 of a 15-byte record")
                .hasMessageContaining("Task.groupId");
    }

    @Test
    void shouldRaiseOnlyUndecodableRecordExceptionOnRandomDamage() {
        Random random = new Random(20261205L);
        int decoded = 0;
        int refused = 0;
        for (Map.Entry<Topic<String, ?>, List<SpecificRecord>> e : samples().entrySet()) {
            String topic = e.getKey().name();
            Deserializer<?> serde = e.getKey().valueSerde().deserializer();
            for (byte[] valid : validPayloads(e.getValue())) {
                for (int i = 0; i < 600; i++) {
                    byte[] damaged = damage(valid, random);
                    long before = THREADS.getCurrentThreadAllocatedBytes();
                    Throwable thrown = catchAll(() -> serde.deserialize(topic, damaged));
                    long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                    if (thrown == null) {
                        decoded++;
                    } else if (thrown instanceof UndecodableRecordException) {
                        refused++;
                    } else {
                        fail("decoding damaged payload " + Arrays.toString(damaged) + " on " + topic + " threw " + thrown,
                                thrown);
                    }
                    assertThat(allocated).as("bytes allocated decoding a damaged %d-byte payload on %s",
                            damaged.length, topic).isLessThan(ALLOCATION_BUDGET);
                }
            }
        }
        assertThat(refused).as("damaged payloads refused").isGreaterThan(1000);
        assertThat(decoded + refused).isGreaterThanOrEqualTo(4200);
    }

    /** The samples encoded by every released writer of their record, each with its own fingerprint. */
    private static List<byte[]> validPayloads(List<SpecificRecord> samples) {
        List<byte[]> out = new ArrayList<>();
        for (SpecificRecord sample : samples) {
            for (Schema writer : writers(sample)) {
                GenericRecord old = asWriter(sample, writer);
                out.add(AvroSerde.generic(writer, SchemaHistory.released()).serialize("t", old));
            }
        }
        return out;
    }

    private static GenericRecord asWriter(SpecificRecord sample, Schema writer) {
        GenericRecord generic = (GenericRecord) GenericData.get().deepCopy(sample.getSchema(), sample);
        GenericRecord old = new GenericData.Record(writer);
        for (Schema.Field f : writer.getFields()) {
            old.put(f.name(), GenericData.get().deepCopy(f.schema(), generic.get(f.name())));
        }
        return old;
    }

    /** One to three random edits: bit flips, overwritten bytes, varints written or inserted, truncation. */
    static byte[] damage(byte[] valid, Random random) {
        byte[] b = valid.clone();
        int edits = 1 + random.nextInt(3);
        for (int k = 0; k < edits; k++) {
            // Mostly in the body; sometimes in the fingerprint, which must then be refused as unknown.
            int from = random.nextInt(20) == 0 ? 2 : 10;
            int at = from + random.nextInt(Math.max(1, b.length - from));
            switch (random.nextInt(7)) {
                case 0 -> b[Math.min(at, b.length - 1)] ^= (byte) (1 << random.nextInt(8));
                case 1 -> b[Math.min(at, b.length - 1)] = (byte) random.nextInt(256);
                case 2 -> b = Arrays.copyOf(b, Math.min(b.length, from + random.nextInt(Math.max(1, b.length - from))));
                case 3 -> b = splice(b, at, randomVarint(random), false);
                case 4 -> b = splice(b, at, randomVarint(random), true);
                case 5 -> {
                    byte[] ff = new byte[1 + random.nextInt(10)];
                    Arrays.fill(ff, (byte) 0xFF);
                    b = splice(b, at, ff, false);
                }
                default -> {
                    byte[] garbage = new byte[1 + random.nextInt(16)];
                    random.nextBytes(garbage);
                    b = splice(b, at, garbage, true);
                }
            }
        }
        return b;
    }

    private static byte[] randomVarint(Random random) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long magnitude = random.nextLong() >>> random.nextInt(64);
        HostileRecords.varint(out, random.nextBoolean() ? magnitude : -magnitude);
        return out.toByteArray();
    }

    private static byte[] splice(byte[] b, int at, byte[] piece, boolean insert) {
        at = Math.min(at, b.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(b, 0, at);
        out.writeBytes(piece);
        int rest = insert ? at : Math.min(b.length, at + piece.length);
        out.write(b, rest, b.length - rest);
        return out.toByteArray();
    }

    private static Deserializer<?> serdeOf(String topic) {
        return CATALOG.all().stream().filter(t -> t.name().equals(topic)).findFirst().orElseThrow()
                .valueSerde().deserializer();
    }

    /** What {@code decode} threw, Errors included, or null. */
    private static Throwable catchAll(Runnable decode) {
        try {
            decode.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }
}
