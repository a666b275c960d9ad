package io.rollout.actor.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.env.Observation;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActionFormatTest {

    private static final Observation SOKOBAN = Observation.ofState(" # \t # \t\n # \t P \t");
    private static final Observation HOUSEHOLD = new Observation("You are in the middle of a room.", "room",
            List.of("go to fridge 1", "go to countertop 1", "open fridge 1", "look"));

    private final ActionFormat think = ActionFormat.named("think-action", List.of());
    private final ActionFormat compact = ActionFormat.named("compact", List.of());

    @Test
    void shouldTakeTheLastActionBlockOfAThinkActionAnswer() {
        String answer = "<think>maybe <action>left</action> first?</think> no: <action> move up \n</action> done";

        assertThat(think.parse(answer, SOKOBAN)).contains("move up");
    }

    @Test
    void shouldRejectThinkActionAnswersWithoutAnActionOrWithABlankOne() {
        assertThat(think.parse("<think>go up</think> up", SOKOBAN)).isEmpty();
        assertThat(think.parse("<think>x</think><action>  \n </action>", SOKOBAN)).isEmpty();
        assertThat(think.parse("<action>up", SOKOBAN)).isEmpty();
    }

    @Test
    void shouldAskForThinkAndActionTagsAndListAdmissibleActions() {
        String prompt = think.render(HOUSEHOLD, List.of(new Turn("before", "look")));

        assertThat(prompt).contains("<think>", "<action>", "You are in the middle of a room.",
                "go to fridge 1, go to countertop 1", "Action: look");
        assertThat(think.chat()).isTrue();
    }

    @Test
    void shouldPickTheFirstVocabularyWordOfACompactAnswer() {
        assertThat(compact.parse("box the Left up", SOKOBAN)).contains("left");
        assertThat(compact.parse(" down", SOKOBAN)).contains("down");
    }

    @Test
    void shouldRejectCompactAnswersWithoutAnAction() {
        assertThat(compact.parse("push box to target", SOKOBAN)).isEmpty();
        assertThat(compact.parse("upward setup", SOKOBAN)).isEmpty();
        assertThat(compact.parse("", SOKOBAN)).isEmpty();
    }

    @Test
    void shouldPickTheFirstAdmissibleActionOfACompactAnswerLongestFirst() {
        assertThat(compact.parse("please open fridge 1 then look", HOUSEHOLD)).contains("open fridge 1");
        assertThat(compact.parse("go to Countertop 1 .", HOUSEHOLD)).contains("go to countertop 1");
        // Where the environment lists actions, the vocabulary does not count.
        assertThat(compact.parse("up go to fridge 2", HOUSEHOLD)).isEmpty();
    }

    // The tiny model's word-level tokenizer decodes "in/on" as "in / on": punctuation spacing must not matter.
    @Test
    void shouldMatchAdmissibleActionsWhateverTheSpacingAroundPunctuation() {
        Observation holding = new Observation("You arrive at cabinet 1.", "cabinet",
                List.of("put mug 1 in/on cabinet 1", "go to fridge 1"));

        assertThat(compact.parse("put mug 1 in / on cabinet 1", holding)).contains("put mug 1 in/on cabinet 1");
        assertThat(compact.parse("put mug 1 in/on cabinet 1", holding)).contains("put mug 1 in/on cabinet 1");
        assertThat(compact.parse("put mug 1 in on cabinet 1", holding)).isEmpty();
    }

    @Test
    void shouldReadBackTheActionOfItsOwnAnswer() {
        assertThat(compact.parse(compact.answer("go to countertop 1"), HOUSEHOLD)).contains("go to countertop 1");
        assertThat(compact.parse(compact.answer("left"), SOKOBAN)).contains("left");
        assertThat(think.parse(think.answer("open fridge 1"), HOUSEHOLD)).contains("open fridge 1");
    }

    @Test
    void shouldUseAConfiguredVocabularyWhereTheEnvironmentListsNoActions() {
        ActionFormat custom = ActionFormat.named("compact", List.of("north", "south"));

        assertThat(custom.parse("up south", SOKOBAN)).contains("south");
        assertThat(custom.parse("up down", SOKOBAN)).isEmpty();
    }

    @Test
    void shouldRefuseAnUnknownFormatName() {
        assertThatThrownBy(() -> ActionFormat.named("json", List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("json")
                .hasMessageContaining("think-action");
    }
}
