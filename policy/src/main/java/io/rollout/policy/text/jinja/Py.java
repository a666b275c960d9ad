package io.rollout.policy.text.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Python's value semantics over Java values, as Jinja inherits them: None is {@code null},
 * ints are {@code Long} (any integral {@code Number} is accepted), floats {@code Double},
 * lists any {@code List} ({@link Tuple} for tuples), dicts any {@code Map}. Strings index,
 * slice and count by code point, as Python's do.
 *
 * <p>Longer than most classes because Python's semantics of each operation (truthiness, comparison,
 * arithmetic, indexing, slicing, string methods) live together, so the templates see one consistent
 * Python.
 */
final class Py {

    private Py() {}

    // ---- types ----

    static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                || v instanceof BigInteger;
    }

    static boolean isFloat(Object v) {
        return v instanceof Double || v instanceof Float || v instanceof BigDecimal;
    }

    /** Python's numbers.Number: bool included. */
    static boolean isNumber(Object v) {
        return isInt(v) || isFloat(v) || v instanceof Boolean;
    }

    static boolean isCallable(Object v) {
        return v instanceof JinjaCallable;
    }

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        if (v instanceof Undefined) {
            return "Undefined";
        }
        if (v instanceof String) {
            return "str";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (isInt(v)) {
            return "int";
        }
        if (isFloat(v)) {
            return "float";
        }
        if (v instanceof Tuple) {
            return "tuple";
        }
        if (v instanceof List) {
            return "list";
        }
        if (v instanceof Map) {
            return "dict";
        }
        if (v instanceof Namespace) {
            return "Namespace";
        }
        if (v instanceof LoopInfo) {
            return "LoopContext";
        }
        if (v instanceof JinjaCallable) {
            return "function";
        }
        return v.getClass().getSimpleName();
    }

    static long toLong(Object v) {
        if (v instanceof Boolean) {
            return (Boolean) v ? 1 : 0;
        }
        if (v instanceof BigInteger) {
            return ((BigInteger) v).longValueExact();
        }
        return ((Number) v).longValue();
    }

    static double toDouble(Object v) {
        if (v instanceof Boolean) {
            return (Boolean) v ? 1 : 0;
        }
        return ((Number) v).doubleValue();
    }

    /** An int argument (index, count, width): ints and bools only, as Python requires. */
    static long intArg(Object v, String what) {
        if (isInt(v) || v instanceof Boolean) {
            return toLong(v);
        }
        if (v instanceof Undefined) {
            throw ((Undefined) v).error();
        }
        throw new JinjaError(what + " must be an integer, not '" + typeName(v) + "'");
    }

    static String strArg(Object v, String what) {
        if (v instanceof String) {
            return (String) v;
        }
        if (v instanceof Undefined) {
            throw ((Undefined) v).error();
        }
        throw new JinjaError(what + " must be str, not " + typeName(v));
    }

    // ---- truth, str, repr ----

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) {
            return false;
        }
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        if (v instanceof String) {
            return !((String) v).isEmpty();
        }
        if (isInt(v)) {
            return v instanceof BigInteger ? ((BigInteger) v).signum() != 0 : toLong(v) != 0;
        }
        if (isFloat(v)) {
            return toDouble(v) != 0.0;
        }
        if (v instanceof List) {
            return !((List<?>) v).isEmpty();
        }
        if (v instanceof Map) {
            return !((Map<?, ?>) v).isEmpty();
        }
        return true;
    }

    /** Python's {@code str()}; what {@code {{ }}} prints (undefined prints nothing). */
    static String str(Object v) {
        if (v instanceof String) {
            return (String) v;
        }
        if (v instanceof Undefined) {
            return "";
        }
        return repr(v);
    }

    /** Python's {@code repr()}. */
    static String repr(Object v) {
        StringBuilder sb = new StringBuilder();
        repr(v, sb);
        return sb.toString();
    }

    private static void repr(Object v, StringBuilder sb) {
        if (v == null) {
            sb.append("None");
        } else if (v instanceof Undefined) {
            sb.append("");
        } else if (v instanceof Boolean) {
            sb.append((Boolean) v ? "True" : "False");
        } else if (isInt(v)) {
            sb.append(v);
        } else if (isFloat(v)) {
            sb.append(floatRepr(toDouble(v)));
        } else if (v instanceof String) {
            stringRepr((String) v, sb);
        } else if (v instanceof Tuple) {
            Tuple t = (Tuple) v;
            sb.append('(');
            for (int i = 0; i < t.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                repr(t.get(i), sb);
            }
            sb.append(t.size() == 1 ? ",)" : ")");
        } else if (v instanceof List) {
            sb.append('[');
            boolean first = true;
            for (Object o : (List<?>) v) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(o, sb);
            }
            sb.append(']');
        } else if (v instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    sb.append(", ");
                }
                first = false;
                repr(e.getKey(), sb);
                sb.append(": ");
                repr(e.getValue(), sb);
            }
            sb.append('}');
        } else if (v instanceof Namespace) {
            sb.append("<Namespace ");
            repr(((Namespace) v).attrs, sb);
            sb.append('>');
        } else if (v instanceof JinjaCallable) {
            sb.append("<function>");
        } else {
            sb.append(v);
        }
    }

    private static void stringRepr(String s, StringBuilder sb) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        s.codePoints().forEach(c -> {
            if (c == quote || c == '\\') {
                sb.append('\\').appendCodePoint(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\x%02x", c));
            } else {
                sb.appendCodePoint(c);
            }
        });
        sb.append(quote);
    }

    /** Python's float repr: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale();
        String sign = d < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = bd.toPlainString();
            return sign + (plain.indexOf('.') >= 0 ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    // ---- equality and order ----

    static boolean eq(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        if (isNumber(a) && isNumber(b)) {
            return compareNumbers(a, b) == 0;
        }
        if (a instanceof String || b instanceof String) {
            return a.equals(b);
        }
        if (a instanceof List && b instanceof List) {
            if ((a instanceof Tuple) != (b instanceof Tuple)) {
                return false;
            }
            List<?> x = (List<?>) a;
            List<?> y = (List<?>) b;
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map && b instanceof Map) {
            Map<?, ?> x = (Map<?, ?>) a;
            Map<?, ?> y = (Map<?, ?>) b;
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                Object k = findKey(y, e.getKey());
                if (k == MISSING || !eq(e.getValue(), y.get(k))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    private static int compareNumbers(Object a, Object b) {
        if ((isInt(a) || a instanceof Boolean) && (isInt(b) || b instanceof Boolean)) {
            if (a instanceof BigInteger || b instanceof BigInteger) {
                return big(a).compareTo(big(b));
            }
            return Long.compare(toLong(a), toLong(b));
        }
        double x = toDouble(a);
        double y = toDouble(b);
        return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2; // 2: a NaN, unordered
    }

    private static BigInteger big(Object v) {
        return v instanceof BigInteger ? (BigInteger) v : BigInteger.valueOf(toLong(v));
    }

    /** Python's ordering ({@code <} and friends): numbers, strings, lists; else a TypeError. */
    static int compare(Object a, Object b, String op) {
        if (a instanceof Undefined) {
            throw ((Undefined) a).error();
        }
        if (b instanceof Undefined) {
            throw ((Undefined) b).error();
        }
        if (isNumber(a) && isNumber(b)) {
            int c = compareNumbers(a, b);
            if (c == 2) { // NaN: every comparison is false
                return op.equals("<") || op.equals("<=") ? 1 : -1;
            }
            return c;
        }
        if (a instanceof String && b instanceof String) {
            return compareStrings((String) a, (String) b);
        }
        if (a instanceof List && b instanceof List && (a instanceof Tuple) == (b instanceof Tuple)) {
            List<?> x = (List<?>) a;
            List<?> y = (List<?>) b;
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i), op);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        throw new JinjaError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    /** Code point order, as Python compares strings. */
    static int compareStrings(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (x != y) {
                return Integer.compare(x, y);
            }
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    // ---- containers ----

    static final Object MISSING = new Object();

    /** The key of {@code map} equal to {@code key} in Python's sense (1 == 1.0), or MISSING. */
    static Object findKey(Map<?, ?> map, Object key) {
        if (map.containsKey(key)) {
            return key;
        }
        if (isNumber(key) || key instanceof Boolean) {
            for (Object k : map.keySet()) {
                if (eq(k, key)) {
                    return k;
                }
            }
        }
        return MISSING;
    }

    /** Python's {@code in}. */
    static boolean contains(Object container, Object item) {
        if (container instanceof String) {
            if (!(item instanceof String)) {
                if (item instanceof Undefined) {
                    throw ((Undefined) item).error();
                }
                throw new JinjaError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return ((String) container).contains((String) item);
        }
        if (container instanceof List) {
            for (Object o : (List<?>) container) {
                if (eq(o, item)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof Map) {
            return findKey((Map<?, ?>) container, item) != MISSING;
        }
        if (container instanceof Undefined) {
            return false;
        }
        throw new JinjaError("argument of type '" + typeName(container) + "' is not iterable");
    }

    /** What {@code for} iterates: list items, dict keys, string characters; undefined is empty. */
    static List<Object> iterate(Object v) {
        if (v instanceof List) {
            return new ArrayList<>((List<?>) v);
        }
        if (v instanceof Map) {
            return new ArrayList<>(((Map<?, ?>) v).keySet());
        }
        if (v instanceof String) {
            return new ArrayList<>(chars((String) v));
        }
        if (v instanceof Undefined) {
            return new ArrayList<>();
        }
        if (v instanceof Iterable) {
            List<Object> out = new ArrayList<>();
            for (Iterator<?> it = ((Iterable<?>) v).iterator(); it.hasNext();) {
                out.add(it.next());
            }
            return out;
        }
        throw new JinjaError("'" + typeName(v) + "' object is not iterable");
    }

    static boolean isIterable(Object v) {
        return v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined
                || v instanceof Iterable;
    }

    /** A string's characters as Python sees them (code points). */
    static List<String> chars(String s) {
        List<String> out = new ArrayList<>(s.length());
        for (int i = 0; i < s.length();) {
            int c = s.codePointAt(i);
            int n = Character.charCount(c);
            out.add(s.substring(i, i + n));
            i += n;
        }
        return out;
    }

    static int length(Object v) {
        if (v instanceof String) {
            String s = (String) v;
            return s.codePointCount(0, s.length());
        }
        if (v instanceof List) {
            return ((List<?>) v).size();
        }
        if (v instanceof Map) {
            return ((Map<?, ?>) v).size();
        }
        if (v instanceof Undefined) {
            return 0;
        }
        if (v instanceof Namespace) {
            return ((Namespace) v).attrs.size();
        }
        throw new JinjaError("object of type '" + typeName(v) + "' has no len()");
    }

    /** Python's whitespace ({@code str.isspace()}, {@code \s} in a str regex). */
    static boolean isSpace(int c) {
        return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || Character.isSpaceChar(c);
    }

    /** {@code s.strip(chars)}, {@code lstrip}, {@code rstrip}: chars null means whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end) {
                int c = s.codePointAt(start);
                if (!(chars == null ? isSpace(c) : chars.indexOf(Character.toString(c)) >= 0)) {
                    break;
                }
                start += Character.charCount(c);
            }
        }
        if (right) {
            while (end > start) {
                int c = s.codePointBefore(end);
                if (!(chars == null ? isSpace(c) : chars.indexOf(Character.toString(c)) >= 0)) {
                    break;
                }
                end -= Character.charCount(c);
            }
        }
        return s.substring(start, end);
    }

    // ---- attribute and item access ----

    /** {@code obj.name}: a method or attribute first, then an item, as Jinja's getattr does. */
    static Object getattr(Object obj, String name) {
        if (obj instanceof Undefined) {
            return obj;
        }
        if (obj instanceof Namespace) {
            Map<String, Object> attrs = ((Namespace) obj).attrs;
            return attrs.containsKey(name) ? attrs.get(name)
                    : new Undefined("'Namespace' object has no attribute '" + name + "'");
        }
        if (obj instanceof LoopInfo) {
            return ((LoopInfo) obj).attribute(name);
        }
        Object method = Methods.bind(obj, name);
        if (method != null) {
            return method;
        }
        if (obj instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) obj;
            if (m.containsKey(name)) {
                return m.get(name);
            }
        }
        return new Undefined("'" + describe(obj) + "' has no attribute '" + name + "'");
    }

    /** {@code obj[key]}: an item first, then (for a string key) an attribute. */
    static Object getitem(Object obj, Object key) {
        if (obj instanceof Undefined) {
            return obj;
        }
        if (key instanceof Slice) {
            return ((Slice) key).apply(obj);
        }
        if (obj instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) obj;
            Object k = findKey(m, key);
            if (k != MISSING) {
                return m.get(k);
            }
            Object method = key instanceof String ? Methods.bind(obj, (String) key) : null;
            if (method != null) {
                return method;
            }
        } else if ((obj instanceof List || obj instanceof String) && (isInt(key) || key instanceof Boolean)) {
            long i = toLong(key);
            if (obj instanceof List) {
                List<?> l = (List<?>) obj;
                if (i < 0) {
                    i += l.size();
                }
                if (i >= 0 && i < l.size()) {
                    return l.get((int) i);
                }
            } else {
                List<String> cs = chars((String) obj);
                if (i < 0) {
                    i += cs.size();
                }
                if (i >= 0 && i < cs.size()) {
                    return cs.get((int) i);
                }
            }
            return new Undefined("'" + describe(obj) + "' has no element " + key);
        } else if (obj instanceof Namespace || obj instanceof LoopInfo) {
            if (key instanceof String) {
                return getattr(obj, (String) key);
            }
        }
        if (key instanceof String && !(obj instanceof Map)) {
            return getattr(obj, (String) key);
        }
        return new Undefined("'" + describe(obj) + "' has no attribute " + repr(key));
    }

    private static String describe(Object obj) {
        return obj == null ? "None" : typeName(obj) + " object";
    }

    /** {@code a[start:stop:step]} with Python's bounds rules. */
    static final class Slice {
        final Object start;
        final Object stop;
        final Object step;

        Slice(Object start, Object stop, Object step) {
            this.start = start;
            this.stop = stop;
            this.step = step;
        }

        Object apply(Object obj) {
            if (obj instanceof String) {
                List<String> cs = chars((String) obj);
                StringBuilder sb = new StringBuilder();
                for (int i : indices(cs.size())) {
                    sb.append(cs.get(i));
                }
                return sb.toString();
            }
            if (obj instanceof List) {
                List<?> l = (List<?>) obj;
                List<Object> out = new ArrayList<>();
                for (int i : indices(l.size())) {
                    out.add(l.get(i));
                }
                return obj instanceof Tuple ? Tuple.of(out) : out;
            }
            if (obj == null) {
                return new Undefined("'NoneType' object is not subscriptable");
            }
            throw new JinjaError("'" + typeName(obj) + "' object is not subscriptable");
        }

        private int[] indices(int len) {
            long st = step == null ? 1 : intArg(step, "slice step");
            if (st == 0) {
                throw new JinjaError("slice step cannot be zero");
            }
            long lower = st < 0 ? -1 : 0;
            long upper = st < 0 ? len - 1 : len;
            long a = bound(start, len, lower, upper, st < 0 ? upper : lower);
            long b = bound(stop, len, lower, upper, st < 0 ? lower : upper);
            List<Integer> out = new ArrayList<>();
            for (long i = a; st > 0 ? i < b : i > b; i += st) {
                out.add((int) i);
            }
            return out.stream().mapToInt(Integer::intValue).toArray();
        }

        private static long bound(Object v, int len, long lower, long upper, long fallback) {
            if (v == null) {
                return fallback;
            }
            long x = intArg(v, "slice index");
            if (x < 0) {
                x += len;
                return Math.max(x, lower);
            }
            return Math.min(x, upper);
        }
    }

    // ---- arithmetic ----

    private static void noUndefined(Object a, Object b) {
        if (a instanceof Undefined) {
            throw ((Undefined) a).error();
        }
        if (b instanceof Undefined) {
            throw ((Undefined) b).error();
        }
    }

    private static JinjaError unsupported(String op, Object a, Object b) {
        return new JinjaError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    private static boolean intLike(Object v) {
        return isInt(v) || v instanceof Boolean;
    }

    private static Object intResult(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    static Object add(Object a, Object b) {
        noUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (intLike(a) && intLike(b)) {
                return intResult(big(a).add(big(b)));
            }
            return toDouble(a) + toDouble(b);
        }
        if (a instanceof String && b instanceof String) {
            return (String) a + b;
        }
        if (a instanceof List && b instanceof List && (a instanceof Tuple) == (b instanceof Tuple)) {
            List<Object> out = new ArrayList<>((List<?>) a);
            out.addAll((List<?>) b);
            return a instanceof Tuple ? Tuple.of(out) : out;
        }
        if (a instanceof String || b instanceof String) {
            throw new JinjaError("can only concatenate str (not \"" + typeName(a instanceof String ? b : a)
                    + "\") to str");
        }
        throw unsupported("+", a, b);
    }

    static Object sub(Object a, Object b) {
        noUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (intLike(a) && intLike(b)) {
                return intResult(big(a).subtract(big(b)));
            }
            return toDouble(a) - toDouble(b);
        }
        throw unsupported("-", a, b);
    }

    static Object mul(Object a, Object b) {
        noUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (intLike(a) && intLike(b)) {
                return intResult(big(a).multiply(big(b)));
            }
            return toDouble(a) * toDouble(b);
        }
        if (intLike(a) && (b instanceof String || b instanceof List)) {
            return mul(b, a);
        }
        if (a instanceof String && intLike(b)) {
            long n = toLong(b);
            return n <= 0 ? "" : ((String) a).repeat(Math.toIntExact(n));
        }
        if (a instanceof List && intLike(b)) {
            List<Object> out = new ArrayList<>();
            for (long i = 0; i < toLong(b); i++) {
                out.addAll((List<?>) a);
            }
            return a instanceof Tuple ? Tuple.of(out) : out;
        }
        throw unsupported("*", a, b);
    }

    static Object truediv(Object a, Object b) {
        noUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (toDouble(b) == 0) {
                throw new JinjaError("division by zero");
            }
            return toDouble(a) / toDouble(b);
        }
        throw unsupported("/", a, b);
    }

    static Object floordiv(Object a, Object b) {
        noUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (toDouble(b) == 0) {
                throw new JinjaError("integer division or modulo by zero");
            }
            if (intLike(a) && intLike(b)) {
                return Math.floorDiv(toLong(a), toLong(b));
            }
            return Math.floor(toDouble(a) / toDouble(b));
        }
        throw unsupported("//", a, b);
    }

    static Object mod(Object a, Object b) {
        noUndefined(a, b);
        if (a instanceof String) {
            return Format.percent((String) a, b);
        }
        if (isNumber(a) && isNumber(b)) {
            if (toDouble(b) == 0) {
                throw new JinjaError("integer division or modulo by zero");
            }
            if (intLike(a) && intLike(b)) {
                return Math.floorMod(toLong(a), toLong(b));
            }
            double x = toDouble(a);
            double y = toDouble(b);
            double r = x % y;
            return r != 0 && (r < 0) != (y < 0) ? r + y : r;
        }
        throw unsupported("%", a, b);
    }

    static Object pow(Object a, Object b) {
        noUndefined(a, b);
        if (isNumber(a) && isNumber(b)) {
            if (intLike(a) && intLike(b) && toLong(b) >= 0) {
                return intResult(big(a).pow(Math.toIntExact(toLong(b))));
            }
            return Math.pow(toDouble(a), toDouble(b));
        }
        throw unsupported("**", a, b);
    }

    static Object neg(Object a) {
        if (a instanceof Undefined) {
            throw ((Undefined) a).error();
        }
        if (intLike(a)) {
            return intResult(big(a).negate());
        }
        if (isFloat(a)) {
            return -toDouble(a);
        }
        throw new JinjaError("bad operand type for unary -: '" + typeName(a) + "'");
    }

    static Object pos(Object a) {
        if (a instanceof Undefined) {
            throw ((Undefined) a).error();
        }
        if (intLike(a)) {
            return toLong(a);
        }
        if (isFloat(a)) {
            return toDouble(a);
        }
        throw new JinjaError("bad operand type for unary +: '" + typeName(a) + "'");
    }
}
