package io.rollout.policy.text.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Python's {@code json.dumps}, byte for byte: separators, indentation and escapes as Python writes them. */
final class Json {

    private Json() {}

    static String dumps(Object v, Object indent, Object separators, boolean sortKeys, boolean ensureAscii) {
        String ind = null;
        if (indent != null) {
            ind = indent instanceof String ? (String) indent : " ".repeat((int) Math.max(0, Py.intArg(indent,
                    "indent")));
        }
        String itemSep = ind == null ? ", " : ",";
        String keySep = ": ";
        if (separators != null) {
            List<Object> seps = Py.iterate(separators);
            if (seps.size() != 2) {
                throw new JinjaError("separators must be an (item_separator, key_separator) pair");
            }
            itemSep = Py.strArg(seps.get(0), "item separator");
            keySep = Py.strArg(seps.get(1), "key separator");
        }
        StringBuilder sb = new StringBuilder();
        write(v, sb, ind, itemSep, keySep, sortKeys, ensureAscii, 0);
        return sb.toString();
    }

    private static void newline(StringBuilder sb, String ind, int depth) {
        if (ind != null) {
            sb.append('\n');
            for (int i = 0; i < depth; i++) {
                sb.append(ind);
            }
        }
    }

    private static void write(Object v, StringBuilder sb, String ind, String itemSep, String keySep, boolean sortKeys,
            boolean ascii, int depth) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean) {
            sb.append((Boolean) v ? "true" : "false");
        } else if (Py.isInt(v)) {
            sb.append(v);
        } else if (Py.isFloat(v)) {
            double d = Py.toDouble(v);
            sb.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity")
                    : Py.floatRepr(d));
        } else if (v instanceof String) {
            string((String) v, sb, ascii);
        } else if (v instanceof List) {
            List<?> l = (List<?>) v;
            if (l.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(itemSep);
                }
                newline(sb, ind, depth + 1);
                write(l.get(i), sb, ind, itemSep, keySep, sortKeys, ascii, depth + 1);
            }
            newline(sb, ind, depth);
            sb.append(']');
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            List<Object> keys = new ArrayList<>(m.keySet());
            if (sortKeys) {
                keys.sort((a, b) -> Py.compare(a, b, "<"));
            }
            sb.append('{');
            boolean first = true;
            for (Object k : keys) {
                if (!first) {
                    sb.append(itemSep);
                }
                first = false;
                newline(sb, ind, depth + 1);
                string(key(k), sb, ascii);
                sb.append(keySep);
                write(m.get(k), sb, ind, itemSep, keySep, sortKeys, ascii, depth + 1);
            }
            newline(sb, ind, depth);
            sb.append('}');
        } else if (v instanceof Namespace) {
            write(((Namespace) v).attrs, sb, ind, itemSep, keySep, sortKeys, ascii, depth);
        } else {
            throw new JinjaError("Object of type " + Py.typeName(v) + " is not JSON serializable");
        }
    }

    private static String key(Object k) {
        if (k instanceof String) {
            return (String) k;
        }
        if (k == null) {
            return "null";
        }
        if (k instanceof Boolean) {
            return (Boolean) k ? "true" : "false";
        }
        if (Py.isNumber(k)) {
            return Py.str(k);
        }
        throw new JinjaError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
    }

    private static void string(String s, StringBuilder sb, boolean ascii) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }
}
