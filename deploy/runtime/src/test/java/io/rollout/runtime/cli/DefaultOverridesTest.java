package io.rollout.runtime.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

class DefaultOverridesTest {

    /** A shared mixin, written with the defaults of "origin". */
    static final class Shared {
        @Option(names = "--rate", defaultValue = "1e-4", description = "Step size (default: ${DEFAULT-VALUE}).")
        double rate;

        @Option(names = "--coef", defaultValue = "0.01", description = "A coefficient.")
        double coef;

        @Option(names = "--rank", defaultValue = "8", description = "(default: ${DEFAULT-VALUE})")
        int rank;
    }

    @Command(name = "origin", sortOptions = false)
    static final class Origin implements Runnable {
        @Mixin
        Shared shared = new Shared();

        @Override
        public void run() {
        }
    }

    @Command(name = "other", sortOptions = false, modelTransformer = Other.Defaults.class)
    static final class Other implements Runnable {
        @Option(names = "--first", description = "Declared first.")
        String first;

        @Mixin
        Shared shared = new Shared();

        @Option(names = "--last", description = "Declared last.")
        String last;

        @Override
        public void run() {
        }

        static final class Defaults extends DefaultOverrides {
            Defaults() {
                super("origin", new Default("--rate", "5e-4", "larger here"), new Default("--coef", "0.0", "none here"));
            }
        }
    }

    @Command(name = "typo", modelTransformer = Typo.Defaults.class)
    static final class Typo implements Runnable {
        @Mixin
        Shared shared = new Shared();

        @Override
        public void run() {
        }

        static final class Defaults extends DefaultOverrides {
            Defaults() {
                super("origin", new Default("--rte", "5e-4", "larger here"));
            }
        }
    }

    @Command(name = "same", modelTransformer = Same.Defaults.class)
    static final class Same implements Runnable {
        @Mixin
        Shared shared = new Shared();

        @Override
        public void run() {
        }

        static final class Defaults extends DefaultOverrides {
            Defaults() {
                super("origin", new Default("--rank", "8", "the same"));
            }
        }
    }

    @Test
    void shouldUseTheOtherDefaultWhenTheOptionIsNotGivenAndTheGivenValueOtherwise() {
        Other other = new Other();
        CommandLine cli = new CommandLine(other);

        cli.parseArgs();
        assertThat(other.shared.rate).isEqualTo(5e-4);
        assertThat(other.shared.coef).isEqualTo(0.0);
        assertThat(other.shared.rank).isEqualTo(8);

        cli.parseArgs("--rate", "2e-3", "--coef", "0.5");
        assertThat(other.shared.rate).isEqualTo(2e-3);
        assertThat(other.shared.coef).isEqualTo(0.5);
    }

    @Test
    void shouldShowTheOtherDefaultAndTheOriginsWithTheReasonInHelp() {
        String help = new CommandLine(new Other()).getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");

        assertThat(help).contains("--rate=<rate> Step size (default: 5e-4; origin's 1e-4, larger here).",
                "--coef=<coef> A coefficient (default: 0.0; origin's 0.01, none here).", "--rank=<rank> (default: 8)");
        assertThat(new CommandLine(new Origin()).getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " "))
                .contains("--rate=<rate> Step size (default: 1e-4).", "--coef=<coef> A coefficient.");
    }

    @Test
    void shouldKeepTheDeclaredOrder() {
        assertThat(new CommandLine(new Other()).getCommandSpec().options().stream().map(OptionSpec::longestName))
                .containsExactly("--first", "--rate", "--coef", "--rank", "--last");
    }

    @Test
    void shouldRefuseAnUnknownOptionOrTheSameDefault() {
        assertThatThrownBy(() -> new CommandLine(new Typo())).hasMessageContaining("typo has no option --rte");
        assertThatThrownBy(() -> new CommandLine(new Same())).hasMessageContaining("--rank of same defaults to 8 already");
    }
}
