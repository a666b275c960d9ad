package io.rollout.actor.prompt;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.actor.TestWorld;
import io.rollout.env.Observation;
import io.rollout.policy.Policy;
import io.rollout.policy.text.TextTokenizer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptBuilderTest {

    private static final Observation BOARD = Observation.ofState(
            " # \t # \t # \t\n # \t P \t X \t\n # \t O \t _ \t");

    private final Policy policy = TestWorld.policy();
    private final TextTokenizer tokenizer = policy.tokenizer();

    @Test
    void shouldEncodeACompactPromptWithoutUnknownWords() {
        PromptBuilder builder = new PromptBuilder(policy, ActionFormat.named("compact", List.of()), 0, 512);

        int[] ids = builder.build(BOARD, List.of(new Turn("old board", "up")));

        assertThat(ids).isEqualTo(tokenizer.encode(BOARD.text() + "\naction:"));
        assertThat(ids).doesNotContain(tokenizer.tokenId("<unk>"));
    }

    @Test
    void shouldRenderAThinkActionPromptThroughTheChatTemplate() {
        PromptBuilder builder = new PromptBuilder(policy, ActionFormat.named("think-action", List.of()), 2, 4096);

        int[] ids = builder.build(BOARD, List.of());

        assertThat(ids[0]).isEqualTo(tokenizer.tokenId("<|im_start|>"));
        assertThat(tokenizer.decode(ids)).contains("think", "action").endsWith("assistant");
    }

    @Test
    void shouldDropTheOldestHistoryTurnsFirstWhenAPromptIsTooLong() {
        ActionFormat compact = ActionFormat.named("compact", List.of());
        List<Turn> history = List.of(new Turn("wall wall wall wall wall wall wall wall", "up"),
                new Turn("box", "left"));
        int withLast = tokenizer.encode(compact.render(BOARD, history.subList(1, 2))).length;
        PromptBuilder builder = new PromptBuilder(policy, compact, 2, withLast);

        int[] ids = builder.build(BOARD, history);

        assertThat(ids).isEqualTo(tokenizer.encode(compact.render(BOARD, history.subList(1, 2))));
    }

    @Test
    void shouldKeepTheEndOfAPromptThatIsTooLongWithoutHistory() {
        int[] full = tokenizer.encode(BOARD.text() + "\naction:");
        PromptBuilder builder = new PromptBuilder(policy, ActionFormat.named("compact", List.of()), 0, 5);

        int[] ids = builder.build(BOARD, List.of());

        assertThat(ids).isEqualTo(Arrays.copyOfRange(full, full.length - 5, full.length));
        assertThat(tokenizer.decode(ids)).endsWith("action :");
    }
}
