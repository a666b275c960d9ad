package io.rollout.schemas.serde;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;

/**
 * Walks an Avro binary body against its writer schema in one pass, without decoding it,
 * and says what does not fit. Avro's decoder allocates whatever a length or count declares
 * before it reads a byte of it, so 15 bytes can ask for gigabytes; after this check, every
 * string, bytes, array and map a body declares is backed by bytes of the body, and decoding
 * it allocates in proportion to its size.
 *
 * <p>Checked: each string and bytes length is at most the bytes left; each array or map
 * block's count times the smallest encoding of its items is at most the bytes left (items
 * that encode to no bytes, such as null, count against {@link #MAX_EMPTY_ITEMS} per body);
 * a block's byte size, when given, is what its items take; union and enum indices name a
 * branch or symbol; an int takes at most 5 bytes, a long at most 10; nothing follows the
 * record.
 *
 * <p>The schema is compiled once into a flat program per record (nested records inlined,
 * one program per union branch and per array or map item), which the check interprets in
 * 6-10% of the time of a decode (docs/topics-and-records.md). Instances are immutable and
 * thread-safe.
 */
final class BodyCheck {

    /** Items that encode to no bytes (null, an empty record) one body may declare in all. */
    static final int MAX_EMPTY_ITEMS = 1 << 16;
    /** Recursive records nested in each other; each level takes at least a byte. */
    static final int MAX_DEPTH = 64;

    private static final byte FIXED = 0;
    private static final byte INT = 1;
    private static final byte LONG = 2;
    private static final byte LENGTH = 3;
    private static final byte ENUM = 4;
    private static final byte UNION = 5;
    private static final byte ARRAY = 6;
    private static final byte MAP = 7;
    private static final byte CALL = 8;

    private final Program root;

    private BodyCheck(Program root) {
        this.root = root;
    }

    static BodyCheck of(Schema writer) {
        return new BodyCheck(new Compiler().compile(writer, writer.getName()));
    }

    /**
     * What is wrong with the body at {@code data[from..]}, or null if it fits the schema.
     * Positions in the answer count from the start of {@code data}.
     */
    String problem(byte[] data, int from) {
        Cursor c = new Cursor(data, from);
        try {
            run(root, c);
        } catch (Violation v) {
            return v.getMessage();
        }
        if (c.pos != data.length) {
            return (data.length - c.pos) + " bytes follow the record, which ends at byte " + c.pos + " of a "
                    + data.length + "-byte record";
        }
        return null;
    }

    /** One value's check: what to read, in order, with the field each step belongs to. */
    private static final class Program {
        byte[] ops;
        /** FIXED: bytes; ENUM: symbols; ARRAY/MAP: the item's smallest encoding (computed last). */
        int[] args;
        /** UNION: a program per branch; ARRAY/MAP: the item's (a map's value's); CALL: the record's. */
        Program[][] subs;
        /** Type and field path of each step, for the message. */
        String[] kind;
        String[] path;
        int minSize = -1;
    }

    private static void run(Program p, Cursor c) {
        byte[] ops = p.ops;
        for (int i = 0; i < ops.length; i++) {
            switch (ops[i]) {
                case FIXED -> {
                    int n = p.args[i];
                    if (n > c.data.length - c.pos) {
                        throw c.fail(p.kind[i] + " of " + n + " bytes", c.pos, p, i);
                    }
                    c.pos += n;
                }
                case INT -> c.varint(5, p, i);
                case LONG -> c.varint(10, p, i);
                case LENGTH -> c.length(p, i, p.kind[i]);
                case ENUM -> {
                    int at = c.pos;
                    long index = c.varint(5, p, i);
                    if (index < 0 || index >= p.args[i]) {
                        throw c.fail(p.kind[i] + " index " + index + " (of " + p.args[i] + " symbols)", at, p, i);
                    }
                }
                case UNION -> {
                    int at = c.pos;
                    long index = c.varint(5, p, i);
                    Program[] branches = p.subs[i];
                    if (index < 0 || index >= branches.length) {
                        throw c.fail("union index " + index + " (of " + branches.length + " branches)", at, p, i);
                    }
                    run(branches[(int) index], c);
                }
                case ARRAY, MAP -> blocks(p, i, c);
                default -> { // CALL: a record that contains itself
                    if (++c.depth > MAX_DEPTH) {
                        throw c.fail(p.kind[i] + " nested more than " + MAX_DEPTH + " deep", c.pos, p, i);
                    }
                    run(p.subs[i][0], c);
                    c.depth--;
                }
            }
        }
    }

    /** Blocks of items, each a count (negative: followed by its byte size), ending with a count of 0. */
    private static void blocks(Program p, int i, Cursor c) {
        boolean map = p.ops[i] == MAP;
        Program item = p.subs[i][0];
        int min = p.args[i];
        while (true) {
            int at = c.pos;
            long count = c.varint(10, p, i);
            if (count == 0) {
                return;
            }
            long size = -1;
            if (count < 0) {
                if (count == Long.MIN_VALUE) {
                    throw c.fail(p.kind[i] + " block count " + count, at, p, i);
                }
                count = -count;
                int sizeAt = c.pos;
                size = c.varint(10, p, i);
                if (size < 0) {
                    throw c.fail(p.kind[i] + " block of negative size " + size, sizeAt, p, i);
                }
                if (size > c.data.length - c.pos) {
                    throw c.fail(p.kind[i] + " block of " + size + " bytes", sizeAt, p, i);
                }
            }
            if (min > 0) {
                if (count > (c.data.length - c.pos) / min) {
                    throw c.fail(p.kind[i] + " of " + count + " items of at least " + min + " bytes", at, p, i);
                }
            } else {
                if (count > c.emptyItemsLeft) {
                    throw c.fail(p.kind[i] + " of " + count + " items that may take no bytes (a record may hold "
                            + MAX_EMPTY_ITEMS + ")", at, p, i);
                }
                c.emptyItemsLeft -= (int) count;
            }
            int itemsAt = c.pos;
            for (long k = 0; k < count; k++) {
                if (map) {
                    c.length(p, i, "map key");
                }
                run(item, c);
            }
            // Avro skips a block by its size: a size that lies would desynchronise decoding from this check.
            if (size >= 0 && c.pos - itemsAt != size) {
                throw c.fail(p.kind[i] + " block that declares " + size + " bytes but whose items take "
                        + (c.pos - itemsAt), at, p, i);
            }
        }
    }

    /** Where the walk is in the body. */
    private static final class Cursor {
        final byte[] data;
        int pos;
        int emptyItemsLeft = MAX_EMPTY_ITEMS;
        int depth;

        Cursor(byte[] data, int from) {
            this.data = data;
            this.pos = from;
        }

        /** A zig-zag varint of at most {@code maxBytes} bytes. */
        long varint(int maxBytes, Program p, int i) {
            if (pos < data.length && data[pos] >= 0) { // one byte: most ints, lengths and indices
                int b = data[pos++];
                return (b >>> 1) ^ -(b & 1);
            }
            int start = pos;
            long raw = 0;
            for (int k = 0; k < maxBytes; k++) {
                if (pos >= data.length) {
                    throw fail("the record ends inside a varint of the " + p.kind[i], start, p, i);
                }
                int b = data[pos++];
                raw |= (long) (b & 0x7F) << (7 * k);
                if ((b & 0x80) == 0) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
            }
            throw fail("a varint of the " + p.kind[i] + " longer than " + maxBytes + " bytes", start, p, i);
        }

        /** A string's, bytes' or map key's length, then that many bytes. */
        void length(Program p, int i, String kind) {
            int at = pos;
            long length = varint(10, p, i);
            if (length < 0) {
                throw fail(kind + " of negative length " + length, at, p, i);
            }
            if (length > data.length - pos) {
                throw fail(kind + " of " + length + " bytes", at, p, i);
            }
            pos += (int) length;
        }

        /** What is wrong, where it was declared, how many bytes were left after it, and in which field. */
        Violation fail(String what, int at, Program p, int i) {
            return new Violation(what + " declared at byte " + at + " of a " + data.length + "-byte record ("
                    + (data.length - pos) + " bytes left) in field " + p.path[i]);
        }
    }

    /** Why a body does not fit. */
    private static final class Violation extends RuntimeException {
        Violation(String message) {
            super(message, null, false, false);
        }
    }

    /** Turns a schema into programs; one compiler per schema. */
    private static final class Compiler {
        /** Records being inlined, by full name: a reference to one of them is a CALL. */
        private final Set<String> open = new HashSet<>();
        /** Standalone programs of records that contain themselves. */
        private final Map<String, Program> recursive = new HashMap<>();
        private final List<Program> all = new ArrayList<>();

        Program compile(Schema schema, String path) {
            Program root = program(schema, path);
            for (Program p : all) { // every program exists now: items' sizes can be computed
                for (int i = 0; i < p.ops.length; i++) {
                    if (p.ops[i] == ARRAY || p.ops[i] == MAP) {
                        p.args[i] = (p.ops[i] == MAP ? 1 : 0) + minSize(p.subs[i][0]);
                    }
                }
            }
            return root;
        }

        private Program program(Schema schema, String path) {
            Program p = new Program();
            fill(p, schema, path, false);
            return p;
        }

        /** Fills {@code p} with the steps of {@code schema}, or with those of its fields only. */
        private void fill(Program p, Schema schema, String path, boolean fieldsOnly) {
            Steps steps = new Steps();
            if (fieldsOnly) {
                for (Schema.Field f : schema.getFields()) {
                    emit(f.schema(), path + "." + f.name(), steps);
                }
            } else {
                emit(schema, path, steps);
            }
            p.ops = new byte[steps.ops.size()];
            p.args = new int[p.ops.length];
            p.subs = new Program[p.ops.length][];
            p.kind = new String[p.ops.length];
            p.path = new String[p.ops.length];
            for (int i = 0; i < p.ops.length; i++) {
                p.ops[i] = steps.ops.get(i);
                p.args[i] = steps.args.get(i);
                p.subs[i] = steps.subs.get(i);
                p.kind[i] = steps.kinds.get(i);
                p.path[i] = steps.paths.get(i);
            }
            all.add(p);
        }

        private void emit(Schema s, String path, Steps out) {
            switch (s.getType()) {
                case NULL -> out.add(FIXED, 0, null, "null", path);
                case BOOLEAN -> out.add(FIXED, 1, null, "boolean", path);
                case FLOAT -> out.add(FIXED, 4, null, "float", path);
                case DOUBLE -> out.add(FIXED, 8, null, "double", path);
                case FIXED -> out.add(FIXED, s.getFixedSize(), null, s.getName(), path);
                case INT -> out.add(INT, 0, null, "int", path);
                case LONG -> out.add(LONG, 0, null, "long", path);
                case STRING -> out.add(LENGTH, 0, null, "string", path);
                case BYTES -> out.add(LENGTH, 0, null, "bytes", path);
                case ENUM -> out.add(ENUM, s.getEnumSymbols().size(), null, s.getName(), path);
                case ARRAY -> out.add(ARRAY, 0, new Program[] {program(s.getElementType(), path + "[]")}, "array",
                        path);
                case MAP -> out.add(MAP, 0, new Program[] {program(s.getValueType(), path + "{}")}, "map", path);
                case UNION -> {
                    Program[] branches = new Program[s.getTypes().size()];
                    for (int b = 0; b < branches.length; b++) {
                        branches[b] = program(s.getTypes().get(b), path);
                    }
                    out.add(UNION, 0, branches, "union", path);
                }
                case RECORD -> {
                    String name = s.getFullName();
                    if (open.contains(name)) {
                        out.add(CALL, 0, new Program[] {recursive(s)}, s.getName(), path);
                        return;
                    }
                    open.add(name);
                    for (Schema.Field f : s.getFields()) {
                        emit(f.schema(), path + "." + f.name(), out);
                    }
                    open.remove(name);
                }
            }
        }

        private Program recursive(Schema record) {
            Program p = recursive.get(record.getFullName());
            if (p == null) {
                p = new Program();
                recursive.put(record.getFullName(), p);
                fill(p, record, record.getName(), true); // the record is open: its fields, not a CALL of itself
            }
            return p;
        }

        private static int minSize(Program p) {
            if (p.minSize >= 0) {
                return p.minSize;
            }
            p.minSize = 0; // a lower bound while a recursive program is being sized
            long sum = 0;
            for (int i = 0; i < p.ops.length; i++) {
                sum += switch (p.ops[i]) {
                    case FIXED -> p.args[i];
                    case UNION -> {
                        int min = Integer.MAX_VALUE;
                        for (Program b : p.subs[i]) {
                            min = Math.min(min, minSize(b));
                        }
                        yield 1L + (p.subs[i].length == 0 ? 0 : min);
                    }
                    case CALL -> minSize(p.subs[i][0]);
                    default -> 1; // a varint, or a length or count before what it counts
                };
            }
            p.minSize = (int) Math.min(Integer.MAX_VALUE, sum);
            return p.minSize;
        }
    }

    /** Steps of a program while it is compiled. */
    private static final class Steps {
        final List<Byte> ops = new ArrayList<>();
        final List<Integer> args = new ArrayList<>();
        final List<Program[]> subs = new ArrayList<>();
        final List<String> kinds = new ArrayList<>();
        final List<String> paths = new ArrayList<>();

        void add(byte op, int arg, Program[] sub, String kind, String path) {
            ops.add(op);
            args.add(arg);
            subs.add(sub);
            kinds.add(kind);
            paths.add(path);
        }
    }
}
