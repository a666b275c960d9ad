package io.rollout.schemas.serde;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * record. Instances are immutable and thread-safe.
 */
final class BodyCheck {

    /** Items that encode to no bytes (null, an empty record) one body may declare in all. */
    static final int MAX_EMPTY_ITEMS = 1 << 16;
    /** Records nested in records, for recursive schemas; each level takes at least a byte. */
    static final int MAX_DEPTH = 64;

    private final Node root;
    private final String name;

    private BodyCheck(Node root, String name) {
        this.root = root;
        this.name = name;
    }

    static BodyCheck of(Schema writer) {
        Node root = compile(writer, new HashMap<>());
        root.minSize(); // computes every array's and map's item size once, before any check reads it
        return new BodyCheck(root, writer.getName());
    }

    /**
     * What is wrong with the body at {@code data[from..]}, or null if it fits the schema.
     * Positions in the answer count from the start of {@code data}.
     */
    String problem(byte[] data, int from) {
        Cursor c = new Cursor(data, from);
        try {
            root.skip(c);
        } catch (Violation v) {
            return v.getMessage() + (v.path.isEmpty() ? "" : " in field " + name + "." + v.path);
        }
        if (c.pos != data.length) {
            return (data.length - c.pos) + " bytes follow the record, which ends at byte " + c.pos + " of a "
                    + data.length + "-byte record";
        }
        return null;
    }

    private static Node compile(Schema s, Map<String, RecordNode> records) {
        return switch (s.getType()) {
            case NULL -> new FixedNode(0, "null");
            case BOOLEAN -> new FixedNode(1, "boolean");
            case FLOAT -> new FixedNode(4, "float");
            case DOUBLE -> new FixedNode(8, "double");
            case FIXED -> new FixedNode(s.getFixedSize(), "fixed " + s.getName());
            case INT -> new VarintNode(5, "int");
            case LONG -> new VarintNode(10, "long");
            case STRING -> new LengthNode("string");
            case BYTES -> new LengthNode("bytes");
            case ENUM -> new EnumNode(s.getName(), s.getEnumSymbols().size());
            case ARRAY -> new BlocksNode("array", null, compile(s.getElementType(), records));
            case MAP -> new BlocksNode("map", new LengthNode("map key"), compile(s.getValueType(), records));
            case UNION -> {
                List<Schema> types = s.getTypes();
                Node[] branches = new Node[types.size()];
                for (int i = 0; i < branches.length; i++) {
                    branches[i] = compile(types.get(i), records);
                }
                yield new UnionNode(branches);
            }
            case RECORD -> {
                RecordNode known = records.get(s.getFullName());
                if (known != null) {
                    yield known; // a recursive reference
                }
                RecordNode node = new RecordNode(s.getName(), s.getFields().size());
                records.put(s.getFullName(), node);
                for (int i = 0; i < node.fields.length; i++) {
                    Schema.Field f = s.getFields().get(i);
                    node.names[i] = f.name();
                    node.fields[i] = compile(f.schema(), records);
                }
                yield node;
            }
        };
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

        int left() {
            return data.length - pos;
        }

        /** A zig-zag varint of at most {@code maxBytes} bytes. */
        long varint(int maxBytes, String what) {
            int start = pos;
            long raw = 0;
            for (int i = 0; i < maxBytes; i++) {
                if (pos >= data.length) {
                    throw new Violation("the record ends inside the " + what + " at byte " + start + " of a "
                            + data.length + "-byte record");
                }
                int b = data[pos++];
                raw |= (long) (b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) {
                    return (raw >>> 1) ^ -(raw & 1);
                }
            }
            throw new Violation(what + " at byte " + start + " of a " + data.length + "-byte record is longer than "
                    + maxBytes + " bytes");
        }

        void need(long bytes, String what, int declaredAt) {
            if (bytes > left()) {
                throw new Violation(what + " declared at byte " + declaredAt + " of a " + data.length
                        + "-byte record (" + left() + " bytes left)");
            }
        }
    }

    /** Why a body does not fit; thrown up through the records so each adds its field to the path. */
    private static final class Violation extends RuntimeException {
        String path = "";

        Violation(String message) {
            super(message, null, false, false);
        }

        Violation in(String segment) {
            path = path.isEmpty() ? segment : segment + "." + path;
            return this;
        }
    }

    private abstract static class Node {
        /** The fewest bytes any value of this type encodes to. */
        abstract int minSize();

        /** Moves the cursor past one value, or throws a Violation. */
        abstract void skip(Cursor c);
    }

    private static final class FixedNode extends Node {
        private final int size;
        private final String what;

        FixedNode(int size, String what) {
            this.size = size;
            this.what = what;
        }

        @Override
        int minSize() {
            return size;
        }

        @Override
        void skip(Cursor c) {
            c.need(size, what + " of " + size + " bytes", c.pos);
            c.pos += size;
        }
    }

    private static final class VarintNode extends Node {
        private final int maxBytes;
        private final String what;

        VarintNode(int maxBytes, String what) {
            this.maxBytes = maxBytes;
            this.what = what;
        }

        @Override
        int minSize() {
            return 1;
        }

        @Override
        void skip(Cursor c) {
            c.varint(maxBytes, what);
        }
    }

    /** A string or bytes: a long length, then that many bytes. */
    private static final class LengthNode extends Node {
        private final String what;

        LengthNode(String what) {
            this.what = what;
        }

        @Override
        int minSize() {
            return 1;
        }

        @Override
        void skip(Cursor c) {
            int at = c.pos;
            long length = c.varint(10, what + " length");
            if (length < 0) {
                throw new Violation(what + " of negative length " + length + " at byte " + at + " of a "
                        + c.data.length + "-byte record");
            }
            c.need(length, what + " of " + length + " bytes", at);
            c.pos += (int) length;
        }
    }

    private static final class EnumNode extends Node {
        private final String name;
        private final int symbols;

        EnumNode(String name, int symbols) {
            this.name = name;
            this.symbols = symbols;
        }

        @Override
        int minSize() {
            return 1;
        }

        @Override
        void skip(Cursor c) {
            int at = c.pos;
            long index = c.varint(5, name + " index");
            if (index < 0 || index >= symbols) {
                throw new Violation(name + " index " + index + " at byte " + at + " of a " + c.data.length
                        + "-byte record; it has " + symbols + " symbols");
            }
        }
    }

    private static final class UnionNode extends Node {
        private final Node[] branches;

        UnionNode(Node[] branches) {
            this.branches = branches;
        }

        @Override
        int minSize() {
            int min = Integer.MAX_VALUE;
            for (Node b : branches) {
                min = Math.min(min, b.minSize());
            }
            return 1 + (branches.length == 0 ? 0 : min);
        }

        @Override
        void skip(Cursor c) {
            int at = c.pos;
            long index = c.varint(5, "union index");
            if (index < 0 || index >= branches.length) {
                throw new Violation("union index " + index + " at byte " + at + " of a " + c.data.length
                        + "-byte record; the union has " + branches.length + " branches");
            }
            branches[(int) index].skip(c);
        }
    }

    /** An array or a map: blocks of items, each block a count (negative: followed by its byte size), then a 0. */
    private static final class BlocksNode extends Node {
        private final String what;
        private final Node key;
        private final Node item;
        private int itemMin = -1;

        BlocksNode(String what, Node key, Node item) {
            this.what = what;
            this.key = key;
            this.item = item;
        }

        @Override
        int minSize() {
            if (itemMin < 0) {
                itemMin = 0; // a recursive item type, while its size is being computed
                itemMin = (key == null ? 0 : key.minSize()) + item.minSize();
            }
            return 1;
        }

        @Override
        void skip(Cursor c) {
            int min = itemMin;
            while (true) {
                int at = c.pos;
                long count = c.varint(10, what + " block count");
                if (count == 0) {
                    return;
                }
                long size = -1;
                if (count < 0) {
                    if (count == Long.MIN_VALUE) {
                        throw new Violation(what + " block count " + count + " at byte " + at);
                    }
                    count = -count;
                    int sizeAt = c.pos;
                    size = c.varint(10, what + " block size");
                    if (size < 0) {
                        throw new Violation(what + " block of negative size " + size + " at byte " + sizeAt + " of a "
                                + c.data.length + "-byte record");
                    }
                    c.need(size, what + " block of " + size + " bytes", sizeAt);
                }
                if (min > 0) {
                    if (count > c.left() / min) {
                        throw new Violation(what + " of " + count + " items of at least " + min + " bytes declared at"
                                + " byte " + at + " of a " + c.data.length + "-byte record (" + c.left()
                                + " bytes left)");
                    }
                } else {
                    if (count > c.emptyItemsLeft) {
                        throw new Violation(what + " of " + count + " items that may take no bytes declared at byte "
                                + at + "; a record may hold " + MAX_EMPTY_ITEMS + " of those");
                    }
                    c.emptyItemsLeft -= (int) count;
                }
                int itemsAt = c.pos;
                for (long i = 0; i < count; i++) {
                    if (key != null) {
                        key.skip(c);
                    }
                    item.skip(c);
                }
                // Avro skips a block by its size: a size that lies would desynchronise decoding from this check.
                if (size >= 0 && c.pos - itemsAt != size) {
                    throw new Violation(what + " block at byte " + at + " declares " + size + " bytes but its items take "
                            + (c.pos - itemsAt));
                }
            }
        }
    }

    private static final class RecordNode extends Node {
        private final String name;
        private final String[] names;
        private final Node[] fields;
        private int min = -1;
        private boolean computing;

        RecordNode(String name, int fieldCount) {
            this.name = name;
            this.names = new String[fieldCount];
            this.fields = new Node[fieldCount];
        }

        @Override
        int minSize() {
            if (min >= 0) {
                return min;
            }
            if (computing) {
                return 0; // recursion: a lower bound is enough
            }
            computing = true;
            int sum = 0;
            for (Node f : fields) {
                sum = (int) Math.min(Integer.MAX_VALUE, (long) sum + f.minSize());
            }
            computing = false;
            min = sum;
            return min;
        }

        @Override
        void skip(Cursor c) {
            if (++c.depth > MAX_DEPTH) {
                throw new Violation(name + " nested more than " + MAX_DEPTH + " deep at byte " + c.pos);
            }
            for (int i = 0; i < fields.length; i++) {
                try {
                    fields[i].skip(c);
                } catch (Violation v) {
                    throw v.in(names[i]);
                }
            }
            c.depth--;
        }
    }
}
