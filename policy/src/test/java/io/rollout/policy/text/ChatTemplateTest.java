package io.rollout.policy.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rollout.policy.ModelFormatException;
import io.rollout.policy.Policy;
import io.rollout.policy.TinyPolicies;
import io.rollout.policy.text.ChatTemplate.Message;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A ChatML-style template that also shows which variables it was given. */
    private static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n"
            + "{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
            + "{% if tools is defined %}TOOLS{% endif %}";

    @Test
    void shouldRenderChatMlAsQwen2DoesWithAndWithoutASystemMessage() {
        assertThat(ChatTemplate.CHATML.render(List.of(Message.user("hi")), "You are helpful."))
                .isEqualTo("<|im_start|>system\nYou are helpful.<|im_end|>\n"
                        + "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(ChatTemplate.CHATML.render(
                List.of(Message.system("S"), Message.user("a"), Message.assistant("b"), Message.user("c")), "ignored"))
                .isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\na<|im_end|>\n"
                        + "<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n<|im_start|>assistant\n");
        assertThat(ChatTemplate.CHATML.render(List.of(Message.user("hi")), null))
                .isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void shouldRenderLlama3Headers() {
        assertThat(ChatTemplate.LLAMA3.render(List.of(Message.system("S"), Message.user(" hi ")), null))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
        assertThat(ChatTemplate.LLAMA3.stopStrings()).containsExactly("<|eot_id|>");
    }

    /** A model directory with the tiny tokenizer and the given tokenizer_config.json entries. */
    private static Path modelDir(Path dir, Map<String, Object> config) throws IOException {
        Files.copy(TinyPolicies.tied().resolve(TextTokenizer.FILE), dir.resolve(TextTokenizer.FILE));
        ObjectNode node = JSON.createObjectNode();
        node.put("eos_token", "<|endoftext|>");
        config.forEach((k, v) -> node.set(k, JSON.valueToTree(v)));
        JSON.writeValue(dir.resolve(JinjaChatTemplate.CONFIG_FILE).toFile(), node);
        return dir;
    }

    private static ChatTemplate load(Path dir) {
        try (TextTokenizer tok = TextTokenizer.load(dir)) {
            return ChatTemplate.load(dir, tok);
        }
    }

    @Test
    void shouldRenderTheTemplateOfTokenizerConfigWithItsSpecialTokens(@TempDir Path tmp) throws IOException {
        Path dir = modelDir(tmp, Map.of("chat_template", TEMPLATE,
                "bos_token", Map.of("__type", "AddedToken", "content", "<s>", "lstrip", false)));
        ChatTemplate t = load(dir);
        assertThat(t).isInstanceOf(JinjaChatTemplate.class);
        assertThat(((JinjaChatTemplate) t).file()).isEqualTo(dir.resolve("tokenizer_config.json"));
        assertThat(((JinjaChatTemplate) t).specialTokens())
                .containsExactlyInAnyOrderEntriesOf(Map.of("bos_token", "<s>", "eos_token", "<|endoftext|>"));
        // tools stays undefined; the generation prompt is always asked for
        assertThat(t.render(List.of(Message.user("hi")), null))
                .isEqualTo("<s><|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        // the end of turn the template writes first, then eos
        assertThat(t.stopStrings()).containsExactly("<|im_end|>", "<|endoftext|>");
    }

    @Test
    void shouldPrependTheDefaultSystemOnlyWhenTheConversationHasNone(@TempDir Path tmp) throws IOException {
        ChatTemplate t = load(modelDir(tmp, Map.of("chat_template", TEMPLATE)));
        assertThat(t.render(List.of(Message.user("hi")), "Be brief."))
                .isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(List.of(Message.system("Mine."), Message.user("hi")), "Be brief."))
                .isEqualTo("<|im_start|>system\nMine.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(List.of(), "Be brief."))
                .isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>assistant\n");
    }

    @Test
    void shouldUseTheDefaultOfANamedTemplateList(@TempDir Path tmp) throws IOException {
        ChatTemplate t = load(modelDir(tmp, Map.of("chat_template", List.of(
                Map.of("name", "tool_use", "template", "TOOLS"),
                Map.of("name", "default", "template", "DEFAULT {{ messages|length }}")))));
        assertThat(t.render(List.of(Message.user("a")), null)).isEqualTo("DEFAULT 1");
    }

    @Test
    void shouldRefuseANamedTemplateListWithoutADefault(@TempDir Path tmp) throws IOException {
        Path dir = modelDir(tmp, Map.of("chat_template", List.of(Map.of("name", "tool_use", "template", "T"))));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tokenizer_config.json").hasMessageContaining("no template named \"default\"");
    }

    @Test
    void shouldPreferChatTemplateJinjaToTheConfigsTemplate(@TempDir Path tmp) throws IOException {
        Path dir = modelDir(tmp, Map.of("chat_template", "FROM CONFIG"));
        Files.writeString(dir.resolve("chat_template.jinja"), "FROM FILE {{ eos_token }}\n");
        ChatTemplate t = load(dir);
        assertThat(t.render(List.of(Message.user("a")), null)).isEqualTo("FROM FILE <|endoftext|>");
        assertThat(((JinjaChatTemplate) t).file()).isEqualTo(dir.resolve("chat_template.jinja"));
    }

    @Test
    void shouldFallBackToTheBuiltInFormatWhenTheModelHasNoTemplate(@TempDir Path tmp) throws IOException {
        assertThat(load(modelDir(tmp, Map.of()))).isSameAs(ChatTemplate.CHATML);
    }

    @Test
    void shouldNameTheFileAndLineOfATemplateThatDoesNotParse(@TempDir Path tmp) throws IOException {
        Path dir = modelDir(tmp, Map.of("chat_template", "ok\n{% for m in messages %}{{ m|nosuchfilter }}"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(dir.resolve("tokenizer_config.json").toString())
                .hasMessageContaining("line 2: unknown filter 'nosuchfilter'");
    }

    @Test
    void shouldRefuseAConversationTheTemplateRejects(@TempDir Path tmp) throws IOException {
        ChatTemplate t = load(modelDir(tmp, Map.of("chat_template",
                "{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with a user turn') }}"
                        + "{% endif %}ok")));
        assertThat(t.render(List.of(Message.user("a")), null)).isEqualTo("ok");
        assertThatThrownBy(() -> t.render(List.of(Message.assistant("a")), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("line 1: Conversation must start with a user turn");
    }

    @Test
    void shouldPromptAndStopWithTheModelsOwnTemplate(@TempDir Path tmp) throws IOException {
        try (Stream<Path> files = Files.list(TinyPolicies.tied())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, tmp.resolve(f.getFileName()));
            }
        }
        ObjectNode config = (ObjectNode) JSON.readTree(tmp.resolve("tokenizer_config.json").toFile());
        config.put("chat_template", "{% for m in messages %}<|im_start|>{{ m.role }} {{ m.content }}<|im_end|>"
                + "{% endfor %}<|im_start|>assistant");
        JSON.writeValue(tmp.resolve("tokenizer_config.json").toFile(), config);
        try (Policy policy = Policy.load(tmp)) {
            assertThat(policy.chatTemplate()).isInstanceOf(JinjaChatTemplate.class);
            String text = policy.chatTemplate().render(List.of(Message.user("move up")), null);
            assertThat(text).isEqualTo("<|im_start|>user move up<|im_end|><|im_start|>assistant");
            assertThat(policy.encodeChat(List.of(Message.user("move up")), null))
                    .containsExactly(policy.tokenizer().encode(text));
            assertThat(policy.endOfResponseToken(true)).isEqualTo(policy.tokenizer().tokenId("<|im_end|>"));
        }
    }
}
