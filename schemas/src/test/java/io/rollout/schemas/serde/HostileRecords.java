package io.rollout.schemas.serde;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Short single-object payloads that are valid up to one length or count, which declares far
 * more than the payload holds: every string, bytes, array and map a writer schema has, each
 * reached by the smallest valid encoding of the fields before it (empty strings, zeros,
 * the first union branch).
 */
final class HostileRecords {

    /** One hostile payload: where its declaration sits and the bytes. */
    record Hostile(String site, byte[] bytes) {
        @Override
        public String toString() {
            return site + " (" + bytes.length + " bytes)";
        }
    }

    private HostileRecords() {
    }

    /** A payload per string, bytes, array and map of {@code writer}, each declaring {@code declared}. */
    static List<Hostile> of(Schema writer, long declared) {
        List<Hostile> out = new ArrayList<>();
        ByteArrayOutputStream prefix = new ByteArrayOutputStream();
        header(prefix, SchemaHistory.fingerprint(writer));
        sites(writer, writer.getName(), prefix.toByteArray(), declared, out);
        return out;
    }

    /** Adds the hostile payloads inside {@code schema} after {@code prefix}; returns prefix plus its minimal encoding. */
    private static byte[] sites(Schema schema, String path, byte[] prefix, long declared, List<Hostile> out) {
        switch (schema.getType()) {
            case STRING, BYTES, ARRAY, MAP -> {
                ByteArrayOutputStream hostile = new ByteArrayOutputStream();
                hostile.writeBytes(prefix);
                varint(hostile, declared);
                out.add(new Hostile(path + ": " + schema.getType().getName() + " of " + declared, hostile.toByteArray()));
                if (schema.getType() == Schema.Type.ARRAY || schema.getType() == Schema.Type.MAP) {
                    // The same count as a block with a byte size: -count, then the size.
                    ByteArrayOutputStream block = new ByteArrayOutputStream();
                    block.writeBytes(prefix);
                    varint(block, -declared);
                    varint(block, 2);
                    out.add(new Hostile(path + ": " + schema.getType().getName() + " block of " + declared,
                            block.toByteArray()));
                }
                return append(prefix, 0); // empty
            }
            case RECORD -> {
                byte[] at = prefix;
                for (Schema.Field f : schema.getFields()) {
                    at = sites(f.schema(), path + "." + f.name(), at, declared, out);
                }
                return at;
            }
            case UNION -> {
                byte[] first = null;
                for (int i = 0; i < schema.getTypes().size(); i++) {
                    byte[] end = sites(schema.getTypes().get(i), path + "[" + i + "]", append(prefix, 2L * i), declared,
                            out);
                    first = first == null ? end : first;
                }
                return first;
            }
            case NULL -> {
                return prefix;
            }
            case BOOLEAN, INT, LONG, ENUM -> {
                return append(prefix, 0);
            }
            case FLOAT -> {
                return append(prefix, 0, 0, 0, 0);
            }
            case DOUBLE -> {
                return append(prefix, 0, 0, 0, 0, 0, 0, 0, 0);
            }
            case FIXED -> {
                return append(prefix, new long[schema.getFixedSize()]);
            }
            default -> throw new IllegalArgumentException("no minimal encoding of " + schema.getType());
        }
    }

    static void header(ByteArrayOutputStream out, long fingerprint) {
        out.write(0xC3);
        out.write(0x01);
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(fingerprint).array());
    }

    /** Avro's zig-zag varint of {@code value}. */
    static void varint(ByteArrayOutputStream out, long value) {
        long n = (value << 1) ^ (value >> 63);
        while ((n & ~0x7FL) != 0) {
            out.write((int) ((n & 0x7F) | 0x80));
            n >>>= 7;
        }
        out.write((int) n);
    }

    private static byte[] append(byte[] prefix, long... rawBytes) {
        byte[] out = java.util.Arrays.copyOf(prefix, prefix.length + rawBytes.length);
        for (int i = 0; i < rawBytes.length; i++) {
            out[prefix.length + i] = (byte) rawBytes[i];
        }
        return out;
    }
}
