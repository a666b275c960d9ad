package io.rollout.env;

import io.rollout.env.EnvInputException.Kind;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An environment's settings as string key/value pairs (as a Task carries them), with
 * typed, validated reads. An environment calls {@link #requireKnown} first, so a typo in
 * a key is an error and not a silently ignored setting.
 */
public final class EnvConfig {

    private static final EnvConfig EMPTY = new EnvConfig(Map.of());

    private final Map<String, String> values;

    private EnvConfig(Map<String, String> values) {
        this.values = Map.copyOf(values);
    }

    public static EnvConfig of(Map<String, String> values) {
        return values.isEmpty() ? EMPTY : new EnvConfig(values);
    }

    public static EnvConfig empty() {
        return EMPTY;
    }

    public Map<String, String> asMap() {
        return values;
    }

    /** Throws UNKNOWN_CONFIG_KEY naming the first key not in {@code known}. */
    public EnvConfig requireKnown(String env, Set<String> known) {
        for (String key : new TreeSet<>(values.keySet())) {
            if (!known.contains(key)) {
                throw new EnvInputException(Kind.UNKNOWN_CONFIG_KEY,
                        "unknown config key '" + key + "' for " + env + "; known keys: " + new TreeSet<>(known));
            }
        }
        return this;
    }

    /** The integer at {@code key}, or {@code fallback}; BAD_CONFIG_VALUE unless in [min, max]. */
    public int intValue(String key, int fallback, int min, int max) {
        String raw = values.get(key);
        if (raw == null) {
            return fallback;
        }
        int value;
        try {
            value = Integer.parseInt(raw.strip());
        } catch (NumberFormatException e) {
            throw new EnvInputException(Kind.BAD_CONFIG_VALUE, "config " + key + "='" + raw + "' is not an integer");
        }
        if (value < min || value > max) {
            throw new EnvInputException(Kind.BAD_CONFIG_VALUE,
                    "config " + key + "=" + value + " is out of range [" + min + ", " + max + "]");
        }
        return value;
    }

    /** The string at {@code key}, or {@code fallback}; BAD_CONFIG_VALUE unless one of {@code allowed}. */
    public String choice(String key, String fallback, Set<String> allowed) {
        String value = values.getOrDefault(key, fallback);
        if (!allowed.contains(value)) {
            throw new EnvInputException(Kind.BAD_CONFIG_VALUE,
                    "config " + key + "='" + value + "' is not one of " + new TreeSet<>(allowed));
        }
        return value;
    }

    /** The string at {@code key}, or {@code fallback}. */
    public String string(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EnvConfig other && values.equals(other.values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return new TreeMap<>(values).toString();
    }
}
