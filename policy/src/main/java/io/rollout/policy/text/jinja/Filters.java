package io.rollout.policy.text.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Jinja's built-in filters that chat templates use, with Python Jinja's arguments and results.
 *
 * <p>Longer than most classes because each built-in filter is one short method with Python Jinja's
 * arguments, in one table.
 */
final class Filters {

    /** A filter: the value left of {@code |} and the call's arguments. */
    @FunctionalInterface
    interface Fn {
        Object apply(Object value, Args args);
    }

    private static final Map<String, Fn> FILTERS = new HashMap<>();

    private Filters() {}

    static Fn get(String name) {
        return FILTERS.get(name);
    }

    private static void def(Fn fn, String... names) {
        for (String n : names) {
            FILTERS.put(n, fn);
        }
    }

    static {
        def((v, a) -> (long) Py.length(v), "length", "count");
        def((v, a) -> Py.strip(Py.str(v), chars(a.check("trim", 1, "chars").get(0, "chars", null)), true, true),
                "trim");
        def((v, a) -> Py.str(v).toUpperCase(Locale.ROOT), "upper");
        def((v, a) -> Py.str(v).toLowerCase(Locale.ROOT), "lower");
        def((v, a) -> title(Py.str(v)), "title");
        def((v, a) -> Methods.capitalize(Py.str(v)), "capitalize");
        def(Filters::tojson, "tojson");
        def((v, a) -> Py.str(v), "string");
        def((v, a) -> v, "safe");
        def((v, a) -> Py.str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&#34;").replace("'", "&#39;"), "e", "escape", "forceescape");
        def(Filters::toInt, "int");
        def(Filters::toFloat, "float");
        def(Filters::join, "join");
        def(Filters::defaultFilter, "default", "d");
        def((v, a) -> {
            List<Object> items = Py.iterate(v);
            return items.isEmpty() ? new Undefined("no first item, sequence was empty") : items.get(0);
        }, "first");
        def((v, a) -> {
            List<Object> items = Py.iterate(v);
            return items.isEmpty() ? new Undefined("no last item, sequence was empty") : items.get(items.size() - 1);
        }, "last");
        def((v, a) -> {
            if (v instanceof String) {
                return new StringBuilder((String) v).reverse().toString();
            }
            List<Object> items = Py.iterate(v);
            Collections.reverse(items);
            return items;
        }, "reverse");
        def((v, a) -> Py.iterate(v), "list");
        def((v, a) -> {
            if (v instanceof Undefined) {
                return new ArrayList<>();
            }
            if (!(v instanceof Map)) {
                throw new JinjaError("can only get item pairs from a mapping, not " + Py.typeName(v));
            }
            return Methods.items((Map<?, ?>) v);
        }, "items");
        def(Filters::map, "map");
        def((v, a) -> select(v, a, false, true), "select");
        def((v, a) -> select(v, a, false, false), "reject");
        def((v, a) -> select(v, a, true, true), "selectattr");
        def((v, a) -> select(v, a, true, false), "rejectattr");
        def((v, a) -> {
            a.check("replace", 3, "old", "new", "count");
            Object count = a.get(2, "count", null);
            return Methods.replace(Py.str(v), Py.str(a.required(0, "old", "replace")),
                    Py.str(a.required(1, "new", "replace")), count == null ? -1 : Py.intArg(count, "count"));
        }, "replace");
        def(Filters::unique, "unique");
        def(Filters::sort, "sort");
        def(Filters::dictsort, "dictsort");
        def(Filters::indent, "indent");
        def((v, a) -> {
            if (Py.isInt(v) || v instanceof Boolean) {
                return Math.abs(Py.toLong(v));
            }
            if (Py.isFloat(v)) {
                return Math.abs(Py.toDouble(v));
            }
            throw new JinjaError("bad operand type for abs(): '" + Py.typeName(v) + "'");
        }, "abs");
        def(Filters::round, "round");
        def((v, a) -> {
            a.check("sum", 2, "attribute", "start");
            Object total = a.get(1, "start", 0L);
            Object attr = a.get(0, "attribute", null);
            for (Object o : Py.iterate(v)) {
                total = Py.add(total, attr == null ? o : attribute(o, attr));
            }
            return total;
        }, "sum");
        def((v, a) -> extreme(v, a, -1), "min");
        def((v, a) -> extreme(v, a, 1), "max");
        def((v, a) -> Py.getattr(v, Py.strArg(a.required(0, "name", "attr"), "attr name")), "attr");
        def((v, a) -> {
            if (!a.keywords.isEmpty() && !a.positional.isEmpty()) {
                throw new JinjaError("format() can't handle positional and keyword arguments at the same time");
            }
            Object args = a.keywords.isEmpty() ? new Tuple(a.positional.toArray()) : a.keywords;
            return Format.percent(Py.str(v), args);
        }, "format");
        def((v, a) -> {
            String s = Py.str(v).strip();
            return s.isEmpty() ? 0L : (long) s.split("\\s+").length;
        }, "wordcount");
        def((v, a) -> {
            long width = Py.intArg(a.get(0, "width", 80L), "width");
            String s = Py.str(v);
            int len = Py.length(s);
            if (len >= width) {
                return s;
            }
            long pad = width - len;
            long left = pad / 2 + (pad & width & 1);
            return " ".repeat((int) left) + s + " ".repeat((int) (pad - left));
        }, "center");
        def((v, a) -> Py.isInt(v) || Py.isFloat(v) || v instanceof Boolean ? v : Py.str(v), "pprint");
    }

    private static String chars(Object v) {
        return v == null ? null : Py.strArg(v, "chars");
    }

    /** Jinja's {@code title}: each word (after spaces, {@code -}, brackets) capitalised. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        Matcher m = Pattern.compile("([-\\s({\\[<]+)", Pattern.UNICODE_CHARACTER_CLASS).matcher(s);
        int last = 0;
        while (m.find()) {
            titleWord(s.substring(last, m.start()), sb);
            titleWord(m.group(), sb);
            last = m.end();
        }
        titleWord(s.substring(last), sb);
        return sb.toString();
    }

    private static void titleWord(String w, StringBuilder sb) {
        if (w.isEmpty()) {
            return;
        }
        int first = w.codePointAt(0);
        sb.append(Character.toString(first).toUpperCase(Locale.ROOT))
                .append(w.substring(Character.charCount(first)).toLowerCase(Locale.ROOT));
    }

    /**
     * Hugging Face's {@code tojson} (not Jinja's, which escapes HTML): {@code json.dumps} with
     * {@code ensure_ascii=False}, optional {@code indent}, {@code separators} and {@code sort_keys}.
     */
    private static Object tojson(Object v, Args a) {
        a.check("tojson", 4, "ensure_ascii", "indent", "separators", "sort_keys");
        boolean ensureAscii = Py.truthy(a.get(0, "ensure_ascii", false));
        Object indent = a.get(1, "indent", null);
        Object separators = a.get(2, "separators", null);
        boolean sortKeys = Py.truthy(a.get(3, "sort_keys", false));
        return Json.dumps(v, indent, separators, sortKeys, ensureAscii);
    }

    private static Object toInt(Object v, Args a) {
        a.check("int", 2, "default", "base");
        Object fallback = a.get(0, "default", 0L);
        long base = Py.intArg(a.get(1, "base", 10L), "base");
        if (Py.isInt(v)) {
            return Py.toLong(v);
        }
        if (v instanceof Boolean) {
            return Py.toLong(v);
        }
        if (Py.isFloat(v)) {
            double d = Py.toDouble(v);
            return Double.isFinite(d) ? (Object) (long) d : fallback;
        }
        if (v instanceof String) {
            String s = ((String) v).strip().replace("_", "");
            try {
                if (base == 16 && s.toLowerCase(Locale.ROOT).startsWith("0x")) {
                    s = s.substring(2);
                } else if (base == 8 && s.toLowerCase(Locale.ROOT).startsWith("0o")) {
                    s = s.substring(2);
                } else if (base == 2 && s.toLowerCase(Locale.ROOT).startsWith("0b")) {
                    s = s.substring(2);
                }
                return Long.parseLong(s, (int) base);
            } catch (NumberFormatException e) {
                try {
                    double d = Double.parseDouble(s);
                    return Double.isFinite(d) ? (Object) (long) d : fallback;
                } catch (NumberFormatException e2) {
                    return fallback;
                }
            }
        }
        return fallback;
    }

    private static Object toFloat(Object v, Args a) {
        a.check("float", 1, "default");
        Object fallback = a.get(0, "default", 0.0);
        if (Py.isNumber(v)) {
            return Py.toDouble(v);
        }
        if (v instanceof String) {
            String s = ((String) v).strip();
            String l = s.toLowerCase(Locale.ROOT);
            if (l.equals("inf") || l.equals("+inf") || l.equals("infinity")) {
                return Double.POSITIVE_INFINITY;
            }
            if (l.equals("-inf") || l.equals("-infinity")) {
                return Double.NEGATIVE_INFINITY;
            }
            if (l.equals("nan")) {
                return Double.NaN;
            }
            try {
                if (!s.matches("[+-]?(\\d[\\d_]*)?(\\.\\d*)?([eE][+-]?\\d+)?") || s.matches("[+-]?\\.?")) {
                    return fallback;
                }
                return Double.parseDouble(s.replace("_", ""));
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
        return fallback;
    }

    private static Object join(Object v, Args a) {
        a.check("join", 2, "d", "attribute");
        String sep = Py.str(a.get(0, "d", ""));
        Object attr = a.get(1, "attribute", null);
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object o : Py.iterate(v)) {
            if (!first) {
                sb.append(sep);
            }
            first = false;
            sb.append(Py.str(attr == null ? o : attribute(o, attr)));
        }
        return sb.toString();
    }

    private static Object defaultFilter(Object v, Args a) {
        a.check("default", 2, "default_value", "boolean");
        Object fallback = a.get(0, "default_value", "");
        boolean bool = Py.truthy(a.get(1, "boolean", false));
        if (v instanceof Undefined || (bool && !Py.truthy(v))) {
            return fallback;
        }
        return v;
    }

    /** {@code attribute="a.b"} or an int index, as Jinja's attribute lookups in filters take it. */
    static Object attribute(Object item, Object attr) {
        if (Py.isInt(attr)) {
            return Py.getitem(item, attr);
        }
        Object v = item;
        for (String part : Py.str(attr).split("\\.")) {
            v = part.matches("\\d+") ? Py.getitem(v, Long.parseLong(part)) : Py.getitem(v, part);
        }
        return v;
    }

    private static Object map(Object v, Args a) {
        List<Object> out = new ArrayList<>();
        List<Object> items = Py.iterate(v);
        if (a.positional.isEmpty() && a.keywords.containsKey("attribute")) {
            Object attr = a.keywords.get("attribute");
            boolean hasDefault = a.keywords.containsKey("default");
            for (Object o : items) {
                Object x = attribute(o, attr);
                out.add(x instanceof Undefined && hasDefault ? a.keywords.get("default") : x);
            }
            return out;
        }
        if (a.positional.isEmpty()) {
            throw new JinjaError("map requires a filter argument");
        }
        String name = Py.strArg(a.positional.get(0), "filter name");
        Fn fn = get(name);
        if (fn == null) {
            throw new JinjaError("unknown filter '" + name + "'");
        }
        Args rest = new Args(a.positional.subList(1, a.positional.size()), a.keywords);
        for (Object o : items) {
            out.add(fn.apply(o, rest));
        }
        return out;
    }

    private static Object select(Object v, Args a, boolean byAttr, boolean keep) {
        List<Object> out = new ArrayList<>();
        int at = 0;
        Object attr = null;
        if (byAttr) {
            if (a.positional.isEmpty()) {
                throw new JinjaError("missing parameter for attribute name");
            }
            attr = a.positional.get(0);
            at = 1;
        }
        Tests.Fn test = null;
        Args rest = Args.NONE;
        if (a.positional.size() > at) {
            String name = Py.strArg(a.positional.get(at), "test name");
            test = Tests.get(name);
            if (test == null) {
                throw new JinjaError("unknown test '" + name + "'");
            }
            rest = new Args(a.positional.subList(at + 1, a.positional.size()), a.keywords);
        }
        for (Object o : Py.iterate(v)) {
            Object x = byAttr ? attribute(o, attr) : o;
            boolean ok = test == null ? Py.truthy(x) : test.test(x, rest);
            if (ok == keep) {
                out.add(o);
            }
        }
        return out;
    }

    private static Object sortKey(Object o, boolean caseSensitive) {
        return !caseSensitive && o instanceof String ? ((String) o).toLowerCase(Locale.ROOT) : o;
    }

    private static Object unique(Object v, Args a) {
        a.check("unique", 2, "case_sensitive", "attribute");
        boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
        Object attr = a.get(1, "attribute", null);
        List<Object> out = new ArrayList<>();
        List<Object> seen = new ArrayList<>();
        for (Object o : Py.iterate(v)) {
            Object k = sortKey(attr == null ? o : attribute(o, attr), cs);
            boolean dup = false;
            for (Object s : seen) {
                if (Py.eq(s, k)) {
                    dup = true;
                    break;
                }
            }
            if (!dup) {
                seen.add(k);
                out.add(o);
            }
        }
        return out;
    }

    private static Object sort(Object v, Args a) {
        a.check("sort", 3, "reverse", "case_sensitive", "attribute");
        boolean reverse = Py.truthy(a.get(0, "reverse", false));
        boolean cs = Py.truthy(a.get(1, "case_sensitive", false));
        Object attr = a.get(2, "attribute", null);
        List<Object> items = Py.iterate(v);
        Comparator<Object> cmp = (x, y) -> Py.compare(sortKey(attr == null ? x : attributes(x, attr), cs),
                sortKey(attr == null ? y : attributes(y, attr), cs), "<");
        items.sort(reverse ? cmp.reversed() : cmp);
        return items;
    }

    /** {@code attribute="a,b"} sorts by a tuple of attributes. */
    private static Object attributes(Object item, Object attr) {
        if (attr instanceof String && ((String) attr).contains(",")) {
            List<Object> keys = new ArrayList<>();
            for (String part : ((String) attr).split(",")) {
                keys.add(attribute(item, part.strip()));
            }
            return new Tuple(keys.toArray());
        }
        return attribute(item, attr);
    }

    private static Object dictsort(Object v, Args a) {
        a.check("dictsort", 3, "case_sensitive", "by", "reverse");
        if (!(v instanceof Map)) {
            throw new JinjaError("dictsort needs a mapping, not " + Py.typeName(v));
        }
        boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
        String by = Py.str(a.get(1, "by", "key"));
        boolean reverse = Py.truthy(a.get(2, "reverse", false));
        int pos;
        if (by.equals("key")) {
            pos = 0;
        } else if (by.equals("value")) {
            pos = 1;
        } else {
            throw new JinjaError("You can only sort by either \"key\" or \"value\"");
        }
        List<Object> items = Methods.items((Map<?, ?>) v);
        Comparator<Object> cmp = (x, y) -> Py.compare(sortKey(((List<?>) x).get(pos), cs),
                sortKey(((List<?>) y).get(pos), cs), "<");
        items.sort(reverse ? cmp.reversed() : cmp);
        return items;
    }

    private static Object indent(Object v, Args a) {
        a.check("indent", 3, "width", "first", "blank");
        Object width = a.get(0, "width", 4L);
        String indention = width instanceof String ? (String) width : " ".repeat((int) Py.intArg(width, "width"));
        boolean first = Py.truthy(a.get(1, "first", false));
        boolean blank = Py.truthy(a.get(2, "blank", false));
        String s = Py.str(v) + "\n";
        List<String> lines = Methods.splitlines(s);
        StringBuilder rv = new StringBuilder();
        if (blank) {
            rv.append(String.join("\n" + indention, lines));
        } else {
            rv.append(lines.get(0));
            for (int i = 1; i < lines.size(); i++) {
                rv.append('\n');
                if (!lines.get(i).isEmpty()) {
                    rv.append(indention);
                }
                rv.append(lines.get(i));
            }
        }
        return first ? indention + rv : rv.toString();
    }

    /** Python's {@code round()}: half to even on the exact binary value; {@code ceil}/{@code floor} too. */
    private static Object round(Object v, Args a) {
        a.check("round", 2, "precision", "method");
        long precision = Py.intArg(a.get(0, "precision", 0L), "precision");
        String method = Py.str(a.get(1, "method", "common"));
        if (!Py.isNumber(v)) {
            throw new JinjaError("round() needs a number, not " + Py.typeName(v));
        }
        double d = Py.toDouble(v);
        if (!Double.isFinite(d)) {
            return d;
        }
        RoundingMode mode;
        switch (method) {
            case "common":
                mode = RoundingMode.HALF_EVEN;
                break;
            case "ceil":
                mode = RoundingMode.CEILING;
                break;
            case "floor":
                mode = RoundingMode.FLOOR;
                break;
            default:
                throw new JinjaError("method must be common, ceil or floor");
        }
        if (method.equals("common") && (Py.isInt(v) || v instanceof Boolean)) {
            return Py.toLong(v); // Python: round(int, n) is the int itself for n >= 0
        }
        return new BigDecimal(d).setScale((int) precision, mode).doubleValue();
    }

    private static Object extreme(Object v, Args a, int sign) {
        a.check(sign < 0 ? "min" : "max", 2, "case_sensitive", "attribute");
        boolean cs = Py.truthy(a.get(0, "case_sensitive", false));
        Object attr = a.get(1, "attribute", null);
        Object best = null;
        Object bestKey = null;
        for (Object o : Py.iterate(v)) {
            Object k = sortKey(attr == null ? o : attribute(o, attr), cs);
            if (best == null || Py.compare(k, bestKey, "<") * sign > 0) {
                best = o;
                bestKey = k;
            }
        }
        return best == null ? new Undefined("no " + (sign < 0 ? "min" : "max") + " item, sequence was empty")
                : best;
    }
}
