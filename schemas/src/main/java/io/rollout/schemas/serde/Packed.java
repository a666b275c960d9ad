package io.rollout.schemas.serde;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Packs token ids and log-probs into Avro {@code bytes} fields as little-endian int32 /
 * float32 arrays. Measured about 5x faster to encode than Avro {@code array<int>} (see
 * docs/benchmarks.md), and 4 bytes per element on the wire.
 */
public final class Packed {

    private Packed() {
    }

    public static ByteBuffer ints(int[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asIntBuffer().put(values);
        return buf;
    }

    public static ByteBuffer floats(float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return buf;
    }

    /** Reads every int of {@code packed} from its position to its limit; the buffer's position is unchanged. */
    public static int[] toInts(ByteBuffer packed) {
        int[] out = new int[elementCount(packed, "token ids")];
        packed.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(out);
        return out;
    }

    /** Reads every float of {@code packed} from its position to its limit; the buffer's position is unchanged. */
    public static float[] toFloats(ByteBuffer packed) {
        float[] out = new float[elementCount(packed, "log-probs")];
        packed.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** Number of 4-byte elements in {@code packed}. */
    public static int count(ByteBuffer packed) {
        return elementCount(packed, "packed array");
    }

    private static int elementCount(ByteBuffer packed, String what) {
        int bytes = packed.remaining();
        if (bytes % 4 != 0) {
            throw new IllegalArgumentException(what + ": " + bytes + " bytes is not a whole number of 4-byte elements");
        }
        return bytes / 4;
    }
}
