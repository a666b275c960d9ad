package io.rollout.env.household;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.rollout.env.household.Command.Verb;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class CommandParserTest {

    private static String canonical(String text) {
        return CommandParser.parse(text).map(Command::canonical).orElse(null);
    }

    @Test
    void shouldReadEveryCommandInItsCanonicalForm() {
        for (String command : new String[] {"go to fridge 1", "open fridge 1", "close fridge 1",
                "take apple 1 from countertop 1", "put apple 1 in/on fridge 1", "clean apple 1 with sinkbasin 1",
                "heat potato 1 with microwave 1", "cool tomato 1 with fridge 1", "use desklamp 1",
                "inventory", "look", "examine countertop 1"}) {
            assertThat(canonical(command)).isEqualTo(command);
        }
    }

    @Test
    void shouldTolerateCaseSpacingQuotesAndATrailingPeriod() {
        assertThat(canonical("  GO TO   Fridge 1.  ")).isEqualTo("go to fridge 1");
        assertThat(canonical("`open fridge 1`")).isEqualTo("open fridge 1");
        assertThat(canonical("\"inventory\"")).isEqualTo("inventory");
        assertThat(canonical("> look")).isEqualTo("look");
        assertThat(canonical("Look!")).isEqualTo("look");
    }

    @Test
    void shouldAcceptInOnOrInOrOnForPut() {
        assertThat(canonical("put apple 1 in fridge 1")).isEqualTo("put apple 1 in/on fridge 1");
        assertThat(canonical("put apple 1 on countertop 1")).isEqualTo("put apple 1 in/on countertop 1");
        assertThat(canonical("Put the apple 1 into the fridge 1.")).isEqualTo("put apple 1 in/on fridge 1");
        assertThat(canonical("move apple 1 to fridge 1")).isEqualTo("put apple 1 in/on fridge 1");
    }

    @Test
    void shouldSplitAGluedNumberAndDropArticles() {
        assertThat(canonical("take the apple1 from the countertop1")).isEqualTo("take apple 1 from countertop 1");
        assertThat(canonical("pick up a mug 2 from cabinet 10")).isEqualTo("take mug 2 from cabinet 10");
    }

    @Test
    void shouldLeaveAnOmittedReceptacleForTheWorldToFill() {
        assertThat(CommandParser.parse("take apple 1")).hasValue(Command.of(Verb.TAKE, "apple 1", null));
        assertThat(CommandParser.parse("clean apple 1")).hasValue(Command.of(Verb.CLEAN, "apple 1", null));
    }

    @Test
    void shouldGiveNoCommandForTextItCannotRead() {
        assertThat(CommandParser.parse("dance")).isEmpty();
        assertThat(CommandParser.parse("")).isEmpty();
        assertThat(CommandParser.parse(null)).isEqualTo(Optional.empty());
    }

    @Test
    void shouldReadHostileActionsInLinearTime() {
        int n = 60_000;
        List<String> hostile = List.of(
                "\"".repeat(n),
                "x" + "\"".repeat(n) + "x",
                "x" + ".".repeat(n) + "x",
                "x" + "\"'`* .!;".repeat(n / 9) + "x",
                "go to " + "'\" ".repeat(n / 3) + "fridge 1",
                "a" + "\u0301".repeat(n),
                "apple1" + "\u0301".repeat(n),
                "take " + "a from ".repeat(n / 7) + "\u0085",
                "put " + "a in ".repeat(n / 5) + "\u2028x",
                "clean " + "a with ".repeat(n / 7) + "\u0085",
                "apple".repeat(n / 5) + "1".repeat(n / 5) + "x");
        // Quadratic parsing took over 40 s for these together; linear parsing takes milliseconds.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (String action : hostile) {
                CommandParser.parse(action);
            }
            assertThat(canonical("x" + ".".repeat(n) + "x")).isNull();
            assertThat(canonical("take " + "a from ".repeat(n / 7) + "\u0085")).isNull();
            assertThat(canonical("\"".repeat(n) + "go to fridge 1" + ".".repeat(n) + "\"".repeat(n)))
                    .isEqualTo("go to fridge 1");
        });
    }

    @Test
    void shouldNormalizeExactlyAsTheRegexesItReplacedDid() {
        // Pieces that exercise every rule, including regex corner cases: '$' before a final
        // line terminator, word boundaries around combining marks, surrogate pairs.
        String[] pieces = {"go to", "take", "put", "from", "in", " ", "  ", "\t", "\n", "\r\n", "\r", "\u0085",
            "\u2028", "\u2029", "\u000B", "\u00A0", "\u2003", "\"", "'", "`", "*", ">", ".", "!", ";", "apple", "a",
            "z", "1", "10", "_", "\u00E9", "\u0301", "\u0130", "K", "\u212A", "\uD835\uDC00", "\uD834\uDD67",
            "\uD835", "\u0663", "x1y", "the "};
        Random random = new Random(20261205L);
        for (int i = 0; i < 200_000; i++) {
            StringBuilder text = new StringBuilder();
            for (int k = random.nextInt(9); k > 0; k--) {
                text.append(pieces[random.nextInt(pieces.length)]);
            }
            String s = text.toString();
            assertThat(CommandParser.normalize(s)).as("normalize(\"%s\")", s).isEqualTo(RegexNormalizer.normalize(s));
        }
    }

    /** The normalization as regexes wrote it before it became linear: the reference it must still equal. */
    private static final class RegexNormalizer {
        private static final Pattern SPACES = Pattern.compile("\\s+");
        private static final Pattern LEADING_WRAPPER = Pattern.compile("^[\"'`*>\\s]+");
        private static final Pattern TRAILING_WRAPPER = Pattern.compile("[\"'`*\\s]+$");
        private static final Pattern TRAILING_STOP = Pattern.compile("[.!;]+$");
        private static final Pattern GLUED_NUMBER = Pattern.compile("\\b([a-z]+)(\\d+)\\b");

        static String normalize(String text) {
            String s = SPACES.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
            s = LEADING_WRAPPER.matcher(s).replaceAll("");
            s = TRAILING_WRAPPER.matcher(s).replaceAll("");
            s = TRAILING_STOP.matcher(s).replaceAll("").strip();
            return GLUED_NUMBER.matcher(s).replaceAll("$1 $2");
        }
    }
}
