package io.rollout.policy.text.jinja;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The global functions of Hugging Face's chat template environment: Jinja's {@code namespace},
 * {@code range} and {@code dict}, and transformers' {@code raise_exception} and
 * {@code strftime_now}.
 */
final class Builtins {

    /** Jinja's sandbox refuses ranges longer than this. */
    static final int MAX_RANGE = 100_000;

    private Builtins() {}

    static Map<String, Object> globals(Clock clock) {
        Map<String, Object> g = new HashMap<>();
        g.put("namespace", (JinjaCallable) Builtins::namespace);
        g.put("range", (JinjaCallable) Builtins::range);
        g.put("dict", (JinjaCallable) a -> {
            Map<Object, Object> m = new LinkedHashMap<>();
            if (a.size() > 0) {
                Object src = a.positional.get(0);
                if (!(src instanceof Map)) {
                    throw new JinjaError("dict() needs a mapping, not " + Py.typeName(src));
                }
                m.putAll((Map<?, ?>) src);
            }
            m.putAll(a.keywords);
            return m;
        });
        g.put("raise_exception", (JinjaCallable) a -> {
            throw new JinjaError(Py.str(a.get(0, "message", "")));
        });
        g.put("strftime_now", (JinjaCallable) a -> strftime(Py.strArg(a.required(0, "format", "strftime_now"),
                "format"), ZonedDateTime.now(clock)));
        return g;
    }

    private static Object namespace(Args a) {
        Namespace ns = new Namespace();
        if (a.size() > 1) {
            throw new JinjaError("namespace() takes at most one positional argument");
        }
        if (a.size() == 1) {
            Object init = a.positional.get(0);
            if (!(init instanceof Map)) {
                throw new JinjaError("namespace() needs a mapping, not " + Py.typeName(init));
            }
            for (Map.Entry<?, ?> e : ((Map<?, ?>) init).entrySet()) {
                ns.attrs.put(Py.str(e.getKey()), e.getValue());
            }
        }
        ns.attrs.putAll(a.keywords);
        return ns;
    }

    private static Object range(Args a) {
        if (!a.keywords.isEmpty() || a.size() < 1 || a.size() > 3) {
            throw new JinjaError("range expected 1 to 3 positional arguments, got " + a.size());
        }
        long start = 0;
        long step = 1;
        long stop;
        if (a.size() == 1) {
            stop = Py.intArg(a.positional.get(0), "range() argument");
        } else {
            start = Py.intArg(a.positional.get(0), "range() argument");
            stop = Py.intArg(a.positional.get(1), "range() argument");
            if (a.size() == 3) {
                step = Py.intArg(a.positional.get(2), "range() argument");
            }
        }
        if (step == 0) {
            throw new JinjaError("range() arg 3 must not be zero");
        }
        long n = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
        if (n > MAX_RANGE) {
            throw new JinjaError("range too big (" + n + " items), the sandbox allows " + MAX_RANGE);
        }
        List<Object> out = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            out.add(start + i * step);
        }
        return out;
    }

    /** C's strftime as Python calls it, English names; {@code %-d} drops the padding as glibc does. */
    static String strftime(String fmt, ZonedDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            char d = fmt.charAt(++i);
            boolean unpadded = false;
            if (d == '-' && i + 1 < fmt.length()) {
                unpadded = true;
                d = fmt.charAt(++i);
            }
            String field;
            switch (d) {
                case 'a':
                    field = t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                    break;
                case 'A':
                    field = t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                    break;
                case 'b':
                case 'h':
                    field = t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                    break;
                case 'B':
                    field = t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                    break;
                case 'd':
                    field = pad(t.getDayOfMonth(), 2, unpadded);
                    break;
                case 'e':
                    field = unpadded ? String.valueOf(t.getDayOfMonth()) : String.format("%2d", t.getDayOfMonth());
                    break;
                case 'm':
                    field = pad(t.getMonthValue(), 2, unpadded);
                    break;
                case 'y':
                    field = pad(t.getYear() % 100, 2, unpadded);
                    break;
                case 'Y':
                    field = String.valueOf(t.getYear());
                    break;
                case 'H':
                    field = pad(t.getHour(), 2, unpadded);
                    break;
                case 'I':
                    field = pad(t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, unpadded);
                    break;
                case 'M':
                    field = pad(t.getMinute(), 2, unpadded);
                    break;
                case 'S':
                    field = pad(t.getSecond(), 2, unpadded);
                    break;
                case 'p':
                    field = t.getHour() < 12 ? "AM" : "PM";
                    break;
                case 'j':
                    field = pad(t.getDayOfYear(), 3, unpadded);
                    break;
                case 'f':
                    field = String.format("%06d", t.getNano() / 1000);
                    break;
                case 'Z':
                    field = t.getZone().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                    break;
                case 'z': {
                    int secs = t.getOffset().getTotalSeconds();
                    field = String.format("%s%02d%02d", secs < 0 ? "-" : "+", Math.abs(secs) / 3600,
                            Math.abs(secs) / 60 % 60);
                    break;
                }
                case 'F':
                    field = String.format("%d-%02d-%02d", t.getYear(), t.getMonthValue(), t.getDayOfMonth());
                    break;
                case 'T':
                    field = String.format("%02d:%02d:%02d", t.getHour(), t.getMinute(), t.getSecond());
                    break;
                case '%':
                    field = "%";
                    break;
                default:
                    field = "%" + (unpadded ? "-" : "") + d;
            }
            sb.append(field);
        }
        return sb.toString();
    }

    private static String pad(int v, int width, boolean unpadded) {
        return unpadded ? String.valueOf(v) : String.format("%0" + width + "d", v);
    }
}
