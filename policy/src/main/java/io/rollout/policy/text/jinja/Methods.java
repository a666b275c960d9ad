package io.rollout.policy.text.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Python methods a template may call on values: {@code str} ({@code startswith},
 * {@code split}, {@code strip('\n')}, ...), {@code dict} ({@code items}, {@code get}, ...) and
 * the read-only {@code list} ones. Mutating methods are absent, as in Hugging Face's
 * immutable sandbox.
 */
final class Methods {

    private Methods() {}

    /** {@code obj.name} as a bound method, or null when the value has no such method. */
    static JinjaCallable bind(Object obj, String name) {
        if (obj instanceof String) {
            return stringMethod((String) obj, name);
        }
        if (obj instanceof Map) {
            return mapMethod((Map<?, ?>) obj, name);
        }
        if (obj instanceof List) {
            return listMethod((List<?>) obj, name);
        }
        return null;
    }

    private static JinjaCallable stringMethod(String s, String name) {
        switch (name) {
            case "startswith":
                return a -> affix(s, a.check(name, 1), true);
            case "endswith":
                return a -> affix(s, a.check(name, 1), false);
            case "split":
                return a -> split(s, sep(a.check(name, 2, "sep", "maxsplit")), maxsplit(a));
            case "rsplit":
                return a -> rsplit(s, sep(a.check(name, 2, "sep", "maxsplit")), maxsplit(a));
            case "splitlines":
                return a -> new ArrayList<Object>(splitlines(s));
            case "strip":
                return a -> Py.strip(s, chars(a.check(name, 1)), true, true);
            case "lstrip":
                return a -> Py.strip(s, chars(a.check(name, 1)), true, false);
            case "rstrip":
                return a -> Py.strip(s, chars(a.check(name, 1)), false, true);
            case "upper":
                return a -> s.toUpperCase(Locale.ROOT);
            case "lower":
                return a -> s.toLowerCase(Locale.ROOT);
            case "title":
                return a -> pyTitle(s);
            case "capitalize":
                return a -> capitalize(s);
            case "replace":
                return a -> {
                    a.check(name, 3);
                    Object count = a.get(2, null, -1L);
                    return replace(s, Py.strArg(a.required(0, "old", name), "old"),
                            Py.strArg(a.required(1, "new", name), "new"), Py.intArg(count, "count"));
                };
            case "format":
                return a -> Format.brace(s, a);
            case "join":
                return a -> {
                    StringBuilder sb = new StringBuilder();
                    boolean first = true;
                    for (Object o : Py.iterate(a.check(name, 1).required(0, "iterable", name))) {
                        if (!first) {
                            sb.append(s);
                        }
                        first = false;
                        sb.append(Py.strArg(o, "sequence item"));
                    }
                    return sb.toString();
                };
            case "find":
                return a -> (long) codePointIndex(s, s.indexOf(Py.strArg(a.check(name, 1).required(0, "sub", name),
                        "sub")));
            case "rfind":
                return a -> (long) codePointIndex(s, s.lastIndexOf(Py.strArg(a.check(name, 1)
                        .required(0, "sub", name), "sub")));
            case "count":
                return a -> {
                    String sub = Py.strArg(a.check(name, 1).required(0, "sub", name), "sub");
                    if (sub.isEmpty()) {
                        return (long) Py.length(s) + 1;
                    }
                    long n = 0;
                    for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length())) {
                        n++;
                    }
                    return n;
                };
            case "isdigit":
                return a -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha":
                return a -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum":
                return a -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace":
                return a -> !s.isEmpty() && s.codePoints().allMatch(Py::isSpace);
            case "islower":
                return a -> s.toLowerCase(Locale.ROOT).equals(s) && !s.toUpperCase(Locale.ROOT).equals(s);
            case "isupper":
                return a -> s.toUpperCase(Locale.ROOT).equals(s) && !s.toLowerCase(Locale.ROOT).equals(s);
            default:
                return null;
        }
    }

    private static int codePointIndex(String s, int charIndex) {
        return charIndex < 0 ? -1 : s.codePointCount(0, charIndex);
    }

    private static JinjaCallable mapMethod(Map<?, ?> m, String name) {
        switch (name) {
            case "items":
                return a -> items(m);
            case "keys":
                return a -> new ArrayList<Object>(m.keySet());
            case "values":
                return a -> new ArrayList<Object>(m.values());
            case "get":
                return a -> {
                    a.check(name, 2);
                    Object k = Py.findKey(m, a.required(0, "key", name));
                    return k == Py.MISSING ? a.get(1, null, null) : m.get(k);
                };
            default:
                return null;
        }
    }

    private static JinjaCallable listMethod(List<?> l, String name) {
        switch (name) {
            case "index":
                return a -> {
                    Object x = a.check(name, 1).required(0, "value", name);
                    for (int i = 0; i < l.size(); i++) {
                        if (Py.eq(l.get(i), x)) {
                            return (long) i;
                        }
                    }
                    throw new JinjaError(Py.repr(x) + " is not in list");
                };
            case "count":
                return a -> {
                    Object x = a.check(name, 1).required(0, "value", name);
                    return l.stream().filter(o -> Py.eq(o, x)).count();
                };
            default:
                return null;
        }
    }

    /** A dict's {@code (key, value)} pairs, as tuples. */
    static List<Object> items(Map<?, ?> m) {
        List<Object> out = new ArrayList<>(m.size());
        for (Map.Entry<?, ?> e : m.entrySet()) {
            out.add(new Tuple(e.getKey(), e.getValue()));
        }
        return out;
    }

    private static boolean affix(String s, Args a, boolean prefix) {
        Object arg = a.required(0, "prefix", prefix ? "startswith" : "endswith");
        List<Object> options = arg instanceof Tuple ? new ArrayList<>((Tuple) arg) : List.of(arg);
        for (Object o : options) {
            String p = Py.strArg(o, prefix ? "startswith arg" : "endswith arg");
            if (prefix ? s.startsWith(p) : s.endsWith(p)) {
                return true;
            }
        }
        return false;
    }

    private static String chars(Args a) {
        Object c = a.get(0, "chars", null);
        return c == null ? null : Py.strArg(c, "chars");
    }

    private static String sep(Args a) {
        Object sep = a.get(0, "sep", null);
        if (sep == null) {
            return null;
        }
        String s = Py.strArg(sep, "sep");
        if (s.isEmpty()) {
            throw new JinjaError("empty separator");
        }
        return s;
    }

    private static long maxsplit(Args a) {
        return Py.intArg(a.get(1, "maxsplit", -1L), "maxsplit");
    }

    /** Python's {@code str.split}: on {@code sep}, or on runs of whitespace when it is null. */
    static List<Object> split(String s, String sep, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (sep != null) {
            int from = 0;
            while (maxsplit < 0 || out.size() < maxsplit) {
                int i = s.indexOf(sep, from);
                if (i < 0) {
                    break;
                }
                out.add(s.substring(from, i));
                from = i + sep.length();
            }
            out.add(s.substring(from));
            return out;
        }
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Py.isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            if (i >= n) {
                return out;
            }
            if (maxsplit >= 0 && out.size() >= maxsplit) {
                out.add(s.substring(i));
                return out;
            }
            int start = i;
            while (i < n && !Py.isSpace(s.codePointAt(i))) {
                i += Character.charCount(s.codePointAt(i));
            }
            out.add(s.substring(start, i));
        }
    }

    /** Python's {@code str.rsplit}: as split, but at most {@code maxsplit} cuts from the right. */
    static List<Object> rsplit(String s, String sep, long maxsplit) {
        if (maxsplit < 0) {
            return split(s, sep, maxsplit);
        }
        List<Object> out = new ArrayList<>();
        if (sep != null) {
            int end = s.length();
            while (out.size() < maxsplit) {
                int i = s.lastIndexOf(sep, end - sep.length());
                if (i < 0) {
                    break;
                }
                out.add(s.substring(i + sep.length(), end));
                end = i;
            }
            out.add(s.substring(0, end));
            Collections.reverse(out);
            return out;
        }
        int i = s.length();
        while (true) {
            while (i > 0 && Py.isSpace(s.codePointBefore(i))) {
                i -= Character.charCount(s.codePointBefore(i));
            }
            if (i <= 0) {
                break;
            }
            if (out.size() >= maxsplit) {
                out.add(s.substring(0, i));
                break;
            }
            int end = i;
            while (i > 0 && !Py.isSpace(s.codePointBefore(i))) {
                i -= Character.charCount(s.codePointBefore(i));
            }
            out.add(s.substring(i, end));
        }
        Collections.reverse(out);
        return out;
    }

    /** Python's {@code str.splitlines()} (without keepends). */
    static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean nl = c == '\n' || c == '\r' || c == '\u000b' || c == '\f' || c == '\u001c' || c == '\u001d'
                    || c == '\u001e' || c == '\u0085' || c == '\u2028' || c == '\u2029';
            if (nl) {
                out.add(s.substring(start, i));
                i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
                start = i;
            } else {
                i++;
            }
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    static String replace(String s, String old, String replacement, long count) {
        if (count < 0) {
            if (old.isEmpty()) {
                return count(s, old, replacement, Long.MAX_VALUE);
            }
            return s.replace(old, replacement);
        }
        return count(s, old, replacement, count);
    }

    private static String count(String s, String old, String replacement, long count) {
        StringBuilder sb = new StringBuilder();
        if (old.isEmpty()) {
            List<String> cs = Py.chars(s);
            long done = 0;
            for (String c : cs) {
                if (done < count) {
                    sb.append(replacement);
                    done++;
                }
                sb.append(c);
            }
            if (done < count) {
                sb.append(replacement);
            }
            return sb.toString();
        }
        int from = 0;
        long done = 0;
        while (done < count) {
            int i = s.indexOf(old, from);
            if (i < 0) {
                break;
            }
            sb.append(s, from, i).append(replacement);
            from = i + old.length();
            done++;
        }
        return sb.append(s.substring(from)).toString();
    }

    /** Python's {@code str.title()}: a cased character after an uncased one is upper-cased. */
    static String pyTitle(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevCased = false;
        for (int i = 0; i < s.length();) {
            int c = s.codePointAt(i);
            sb.append(prevCased ? Character.toString(c).toLowerCase(Locale.ROOT)
                    : Character.toString(Character.toTitleCase(c)));
            int t = Character.getType(c);
            prevCased = t == Character.UPPERCASE_LETTER || t == Character.LOWERCASE_LETTER
                    || t == Character.TITLECASE_LETTER;
            i += Character.charCount(c);
        }
        return sb.toString();
    }

    /** Python's {@code str.capitalize()}: first character title-cased, the rest lower-cased. */
    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        return Character.toString(Character.toTitleCase(first))
                + s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT);
    }
}
