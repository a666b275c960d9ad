package io.rollout.runtime.cli;

import io.rollout.runtime.config.Durations;
import java.time.Duration;
import picocli.CommandLine;

/**
 * Durations as the configuration takes them (500ms, 30s, 10m, PT30S), for an option's
 * {@code converter}: a bad value is a usage error naming it, e.g. "Invalid value for option
 * '--timeout': 'soon' is not a duration ...".
 */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        try {
            return Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
