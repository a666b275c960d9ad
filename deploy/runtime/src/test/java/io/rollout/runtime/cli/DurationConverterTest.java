package io.rollout.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class DurationConverterTest {

    @Command(name = "wait")
    static final class Wait {
        @Option(names = "--timeout", defaultValue = "PT30S", converter = DurationConverter.class)
        Duration timeout;
    }

    @Test
    void shouldReadTheShortAndIsoFormsAndNameABadValue() {
        Wait given = new Wait();
        new CommandLine(given).parseArgs("--timeout", "500ms");
        Wait defaulted = new Wait();
        new CommandLine(defaulted).parseArgs();

        assertThat(given.timeout).isEqualTo(Duration.ofMillis(500));
        assertThat(defaulted.timeout).isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> new CommandLine(new Wait()).parseArgs("--timeout", "soon"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageStartingWith("Invalid value for option '--timeout': 'soon' is not a duration");
    }
}
