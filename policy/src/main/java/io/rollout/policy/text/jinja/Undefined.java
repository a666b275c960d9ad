package io.rollout.policy.text.jinja;

/**
 * Jinja's default {@code Undefined}: falsy, renders as the empty string, iterates as empty
 * and has length 0; arithmetic or a call on it fails with {@link #hint}. Unlike Python Jinja
 * (but like {@code @huggingface/jinja}), an attribute or item of an undefined value is
 * undefined rather than an error, so {@code a.b.c is defined} is simply false.
 */
final class Undefined {

    /** Why the value is undefined, e.g. {@code 'foo' is undefined}. */
    final String hint;

    Undefined(String hint) {
        this.hint = hint;
    }

    static Undefined named(String name) {
        return new Undefined("'" + name + "' is undefined");
    }

    JinjaError error() {
        return new JinjaError(hint);
    }

    @Override
    public String toString() {
        return "";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Undefined;
    }

    @Override
    public int hashCode() {
        return 0;
    }
}
