package io.rollout.policy.text.jinja;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Jinja's built-in tests ({@code x is defined}, {@code x is string}, ...), with Python Jinja's meaning. */
final class Tests {

    /** A test: the value left of {@code is} and the test's arguments. */
    @FunctionalInterface
    interface Fn {
        boolean test(Object value, Args args);
    }

    private static final Map<String, Fn> TESTS = new HashMap<>();

    private Tests() {}

    static Fn get(String name) {
        return TESTS.get(name);
    }

    private static void def(Fn fn, String... names) {
        for (String n : names) {
            TESTS.put(n, fn);
        }
    }

    private static Object arg(Args a, String test) {
        if (a.size() < 1) {
            throw new JinjaError("test '" + test + "' needs an argument");
        }
        return a.positional.get(0);
    }

    static {
        def((v, a) -> !(v instanceof Undefined), "defined");
        def((v, a) -> v instanceof Undefined, "undefined");
        def((v, a) -> v == null, "none");
        def((v, a) -> v instanceof String, "string");
        def((v, a) -> Py.isNumber(v), "number");
        def((v, a) -> Py.isInt(v), "integer");
        def((v, a) -> Py.isFloat(v), "float");
        def((v, a) -> v instanceof Boolean, "boolean");
        def((v, a) -> Boolean.TRUE.equals(v), "true");
        def((v, a) -> Boolean.FALSE.equals(v), "false");
        def((v, a) -> v instanceof Map, "mapping");
        def((v, a) -> Py.isIterable(v), "iterable");
        // Python Jinja: anything with len() and __getitem__; its Undefined has both.
        def((v, a) -> v instanceof List || v instanceof Map || v instanceof String || v instanceof Undefined,
                "sequence");
        // Python Jinja's Undefined defines __call__ (to fail), so it counts as callable.
        def((v, a) -> Py.isCallable(v) || v instanceof Undefined, "callable");
        def((v, a) -> Py.intArg(v, "odd test value") % 2 != 0, "odd");
        def((v, a) -> Py.intArg(v, "even test value") % 2 == 0, "even");
        def((v, a) -> {
            Object n = arg(a, "divisibleby");
            return Py.truthy(Py.eq(Py.mod(v, n), 0L));
        }, "divisibleby");
        def((v, a) -> Py.eq(v, arg(a, "eq")), "eq", "equalto", "==");
        def((v, a) -> !Py.eq(v, arg(a, "ne")), "ne", "!=");
        def((v, a) -> Py.compare(v, arg(a, "lt"), "<") < 0, "lt", "lessthan", "<");
        def((v, a) -> Py.compare(v, arg(a, "le"), "<=") <= 0, "le", "<=");
        def((v, a) -> Py.compare(v, arg(a, "gt"), ">") > 0, "gt", "greaterthan", ">");
        def((v, a) -> Py.compare(v, arg(a, "ge"), ">=") >= 0, "ge", ">=");
        def((v, a) -> Py.contains(arg(a, "in"), v), "in");
        def((v, a) -> {
            Object o = arg(a, "sameas");
            return v == o || (v == null && o == null) || (v instanceof Boolean && v.equals(o));
        }, "sameas");
        def((v, a) -> v instanceof String && ((String) v).toLowerCase(Locale.ROOT).equals(v)
                && !((String) v).toUpperCase(Locale.ROOT).equals(v), "lower");
        def((v, a) -> v instanceof String && ((String) v).toUpperCase(Locale.ROOT).equals(v)
                && !((String) v).toLowerCase(Locale.ROOT).equals(v), "upper");
    }
}
