package io.rollout.deploy.fuzz;

import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.serde.SchemaHistory;
import io.rollout.schemas.serde.UndecodableRecordException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Bytes read from a topic by each of the pipeline's serdes. The first byte picks the serde;
 * when its low bit is set the rest is prefixed with that record type's single-object header,
 * so the fuzzer spends its time in the body. The only allowed failure is
 * {@link UndecodableRecordException}; anything else, an OutOfMemoryError included, is a finding.
 */
public final class AvroRecordsFuzz {

    private record Target(Deserializer<?> serde, Schema schema) {}

    private static final List<Target> TARGETS = List.of(
            new Target(AvroSerde.of(Task.class), Task.getClassSchema()),
            new Target(AvroSerde.of(Step.class), Step.getClassSchema()),
            new Target(AvroSerde.of(TrainingSample.class), TrainingSample.getClassSchema()),
            new Target(AvroSerde.of(DroppedGroup.class), DroppedGroup.getClassSchema()),
            new Target(AvroSerde.oneOf(WeightManifest.class, WeightChunk.class), WeightManifest.getClassSchema()),
            new Target(AvroSerde.oneOf(WeightManifest.class, WeightChunk.class), WeightChunk.getClassSchema()));

    private AvroRecordsFuzz() {
    }

    public static void fuzzerTestOneInput(byte[] data) {
        if (data.length == 0) {
            return;
        }
        Target t = TARGETS.get((data[0] & 0xFF) / 2 % TARGETS.size());
        byte[] payload;
        if ((data[0] & 1) == 1) {
            payload = ByteBuffer.allocate(10 + data.length - 1).order(ByteOrder.LITTLE_ENDIAN).put((byte) 0xC3)
                    .put((byte) 0x01).putLong(SchemaHistory.fingerprint(t.schema())).put(data, 1, data.length - 1)
                    .array();
        } else {
            payload = java.util.Arrays.copyOfRange(data, 1, data.length);
        }
        try {
            t.serde().deserialize("fuzz", payload);
        } catch (UndecodableRecordException expected) {
            // the documented answer to bad bytes
        }
    }
}
