package io.rollout.policy.text.jinja;

import java.util.List;
import java.util.Map;

/** The arguments of a call, bound like Python binds them: by position or by keyword. */
final class Args {

    static final Args NONE = new Args(List.of(), Map.of());

    final List<Object> positional;
    final Map<String, Object> keywords;

    Args(List<Object> positional, Map<String, Object> keywords) {
        this.positional = positional;
        this.keywords = keywords;
    }

    static Args of(Object... positional) {
        return new Args(List.of(positional), Map.of());
    }

    int size() {
        return positional.size();
    }

    boolean has(int index, String name) {
        return index < positional.size() || (name != null && keywords.containsKey(name));
    }

    /** Argument {@code index} or keyword {@code name}, else {@code fallback}. */
    Object get(int index, String name, Object fallback) {
        if (index >= 0 && index < positional.size()) {
            return positional.get(index);
        }
        if (name != null && keywords.containsKey(name)) {
            return keywords.get(name);
        }
        return fallback;
    }

    Object required(int index, String name, String function) {
        if (!has(index, name)) {
            throw new JinjaError(function + "() missing required argument '" + name + "'");
        }
        return get(index, name, null);
    }

    /** Fails on more positional arguments than {@code max} or an unknown keyword. */
    Args check(String function, int max, String... names) {
        if (positional.size() > max) {
            throw new JinjaError(function + "() takes at most " + max + " argument" + (max == 1 ? "" : "s")
                    + " (" + positional.size() + " given)");
        }
        for (String k : keywords.keySet()) {
            if (!List.of(names).contains(k)) {
                throw new JinjaError(function + "() got an unexpected keyword argument '" + k + "'");
            }
        }
        return this;
    }
}
