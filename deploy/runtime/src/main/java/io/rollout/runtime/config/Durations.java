package io.rollout.runtime.config;

import java.time.Duration;

/** Parses the durations every service's configuration takes: 500ms, 30s, 10m, 2h or ISO-8601 (PT30S). */
public final class Durations {

    private Durations() {
    }

    /** @throws IllegalArgumentException naming the value when it is not a duration */
    public static Duration parse(String value) {
        String v = value == null ? "" : value.strip().toLowerCase();
        try {
            if (v.startsWith("pt")) {
                return Duration.parse(v.toUpperCase());
            }
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            }
            long n = Long.parseLong(v.substring(0, v.length() - 1));
            return switch (v.charAt(v.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> throw new NumberFormatException();
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'" + value + "' is not a duration (e.g. 500ms, 30s, 10m, PT30S)", e);
        }
    }
}
