package io.rollout.env.household;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.env.household.Command.Verb;
import java.util.Optional;
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
}
