package io.rollout.env.sokoban;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DirectionTest {

    @Test
    void shouldReadEachWordCaseInsensitively() {
        assertThat(Direction.lastMentionedIn("up")).contains(Direction.UP);
        assertThat(Direction.lastMentionedIn("DOWN")).contains(Direction.DOWN);
        assertThat(Direction.lastMentionedIn("Left")).contains(Direction.LEFT);
        assertThat(Direction.lastMentionedIn("<action>rIgHt</action>")).contains(Direction.RIGHT);
    }

    @Test
    void shouldUseTheLastDirectionWordInTheText() {
        assertThat(Direction.lastMentionedIn("Going up hits the wall, left is blocked, so: Right."))
                .contains(Direction.RIGHT);
        assertThat(Direction.lastMentionedIn("<think>right? no, down</think><action>up</action>"))
                .contains(Direction.UP);
    }

    @Test
    void shouldMatchWholeWordsOnly() {
        assertThat(Direction.lastMentionedIn("upward setup bright download leftover")).isEmpty();
        assertThat(Direction.lastMentionedIn("move_up")).contains(Direction.UP);
        assertThat(Direction.lastMentionedIn("left1")).contains(Direction.LEFT);
        assertThat(Direction.lastMentionedIn("go down, not upward")).contains(Direction.DOWN);
    }

    @Test
    void shouldFindNothingInTextWithoutADirection() {
        assertThat(Direction.lastMentionedIn("")).isEmpty();
        assertThat(Direction.lastMentionedIn("I am not sure.")).isEmpty();
        assertThat(Direction.lastMentionedIn(null)).isEmpty();
    }

    @Test
    void shouldReadALongHostileTextInLinearTime() {
        // A scan from the end with a fixed number of comparisons per position: no backtracking.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            assertThat(Direction.lastMentionedIn("u".repeat(60_000))).isEmpty();
            assertThat(Direction.lastMentionedIn("lef".repeat(20_000) + "x")).isEmpty();
            assertThat(Direction.lastMentionedIn("upup".repeat(15_000))).isEmpty();
            assertThat(Direction.lastMentionedIn("left " + "\"".repeat(60_000))).contains(Direction.LEFT);
        });
    }
}
