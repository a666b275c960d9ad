package io.rollout.policy.text.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Python's two string formats, in the subset templates use: {@code "%s: %d" % (a, b)} (and
 * the {@code format} filter) and {@code "{} {name}".format(a, name=b)} without format specs.
 */
final class Format {

    private Format() {}

    /** printf-style: {@code %s %r %d %i %f %.Nf %%}, and {@code %(key)s} with a dict. */
    static String percent(String fmt, Object args) {
        List<?> list = args instanceof Tuple ? (Tuple) args : Collections.singletonList(args);
        Map<?, ?> dict = args instanceof Map ? (Map<?, ?>) args : null;
        StringBuilder sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%') {
                sb.append(c);
                continue;
            }
            if (++i >= fmt.length()) {
                throw new JinjaError("incomplete format");
            }
            Object value;
            if (fmt.charAt(i) == '%') {
                sb.append('%');
                continue;
            }
            String key = null;
            if (fmt.charAt(i) == '(') {
                int close = fmt.indexOf(')', i);
                if (close < 0 || dict == null) {
                    throw new JinjaError("format requires a mapping");
                }
                key = fmt.substring(i + 1, close);
                i = close + 1;
            }
            int precision = -1;
            if (i < fmt.length() && fmt.charAt(i) == '.') {
                int j = i + 1;
                while (j < fmt.length() && Character.isDigit(fmt.charAt(j))) {
                    j++;
                }
                precision = j > i + 1 ? Integer.parseInt(fmt.substring(i + 1, j)) : 0;
                i = j;
            }
            if (i >= fmt.length()) {
                throw new JinjaError("incomplete format");
            }
            if (key != null) {
                Object k = Py.findKey(dict, key);
                if (k == Py.MISSING) {
                    throw new JinjaError("KeyError: " + Py.repr(key));
                }
                value = dict.get(k);
            } else {
                if (next >= list.size()) {
                    throw new JinjaError("not enough arguments for format string");
                }
                value = list.get(next++);
            }
            char conv = fmt.charAt(i);
            switch (conv) {
                case 's':
                    sb.append(Py.str(value));
                    break;
                case 'r':
                    sb.append(Py.repr(value));
                    break;
                case 'd':
                case 'i':
                    if (!Py.isNumber(value)) {
                        throw new JinjaError("%" + conv + " format: a real number is required, not "
                                + Py.typeName(value));
                    }
                    sb.append(Py.isFloat(value) ? (long) Py.toDouble(value) : Py.toLong(value));
                    break;
                case 'f':
                    if (!Py.isNumber(value)) {
                        throw new JinjaError("must be real number, not " + Py.typeName(value));
                    }
                    sb.append(new BigDecimal(Py.toDouble(value)).setScale(precision < 0 ? 6 : precision,
                            RoundingMode.HALF_EVEN).toPlainString());
                    break;
                default:
                    throw new JinjaError("unsupported format character '" + conv + "'");
            }
        }
        if (dict == null && next < list.size()) {
            throw new JinjaError("not all arguments converted during string formatting");
        }
        return sb.toString();
    }

    /** {@code str.format}: {@code {}}, {@code {0}}, {@code {name}}, {@code {{}} and {@code }}}. */
    static String brace(String fmt, Args args) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c == '{') {
                if (i + 1 < fmt.length() && fmt.charAt(i + 1) == '{') {
                    sb.append('{');
                    i++;
                    continue;
                }
                int close = fmt.indexOf('}', i);
                if (close < 0) {
                    throw new JinjaError("Single '{' encountered in format string");
                }
                String field = fmt.substring(i + 1, close);
                String conv = null;
                int bang = field.indexOf('!');
                if (bang >= 0) {
                    conv = field.substring(bang + 1);
                    field = field.substring(0, bang);
                }
                if (field.indexOf(':') >= 0) {
                    throw new JinjaError("format specs in str.format are not supported: {" + field + "}");
                }
                Object value;
                if (field.isEmpty()) {
                    value = positional(args, auto++);
                } else if (field.chars().allMatch(Character::isDigit)) {
                    value = positional(args, Integer.parseInt(field));
                } else if (args.keywords.containsKey(field)) {
                    value = args.keywords.get(field);
                } else {
                    throw new JinjaError("KeyError: " + Py.repr(field));
                }
                sb.append("r".equals(conv) ? Py.repr(value) : Py.str(value));
                i = close;
            } else if (c == '}') {
                if (i + 1 < fmt.length() && fmt.charAt(i + 1) == '}') {
                    i++;
                    sb.append('}');
                } else {
                    throw new JinjaError("Single '}' encountered in format string");
                }
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static Object positional(Args args, int i) {
        if (i >= args.positional.size()) {
            throw new JinjaError("Replacement index " + i + " out of range for positional args tuple");
        }
        return args.positional.get(i);
    }
}
