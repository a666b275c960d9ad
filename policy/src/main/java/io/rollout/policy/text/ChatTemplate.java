package io.rollout.policy.text;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * Renders a conversation into the prompt text an instruction model was trained on, ending
 * with the opening of the assistant's turn. The rendered text contains the special tokens
 * as text; the tokenizer maps them to their ids.
 *
 * <p>A model is prompted with its own Jinja {@code chat_template} ({@link #load}); the
 * built-in {@link #CHATML}, {@link #LLAMA3} and {@link #PLAIN} formats are the fallback for a
 * model directory that ships none.
 */
public interface ChatTemplate {

    /** Qwen2's ChatML, {@code <|im_start|>role\ncontent<|im_end|>\n} (fallback). */
    ChatTemplate CHATML = BuiltInTemplate.CHATML;

    /** Llama 3's header format (fallback). */
    ChatTemplate LLAMA3 = BuiltInTemplate.LLAMA3;

    /** No template: the messages' contents joined by newlines (base models). */
    ChatTemplate PLAIN = BuiltInTemplate.PLAIN;

    /** One turn of a conversation: role {@code system}, {@code user} or {@code assistant}. */
    record Message(String role, String content) {
        public static Message system(String content) {
            return new Message("system", content);
        }

        public static Message user(String content) {
            return new Message("user", content);
        }

        public static Message assistant(String content) {
            return new Message("assistant", content);
        }
    }

    /**
     * The prompt text for {@code messages}; a {@code defaultSystem} message is put first when
     * the conversation has none (null for none; a model's own template may then add its own
     * default, as Qwen2.5's does).
     */
    String render(List<Message> messages, String defaultSystem);

    /**
     * Text that ends the assistant's turn, most specific first (the end-of-turn marker the
     * template writes, e.g. {@code <|im_end|>}); the policy stops on these tokens.
     */
    List<String> stopStrings();

    /**
     * The template a model directory prescribes: its {@code chat_template.jinja}, else the
     * {@code chat_template} of its {@code tokenizer_config.json}, rendered as Hugging Face
     * renders it; only when it has neither, the built-in format {@link #detect} picks.
     *
     * @throws io.rollout.policy.ModelFormatException naming the file when the template or
     *     config cannot be read or parsed
     */
    static ChatTemplate load(Path modelDir, TextTokenizer tokenizer) {
        return load(modelDir, tokenizer, Clock.systemDefaultZone());
    }

    /** As {@link #load(Path, TextTokenizer)}, with the clock a template's {@code strftime_now} reads. */
    static ChatTemplate load(Path modelDir, TextTokenizer tokenizer, Clock clock) {
        ChatTemplate own = JinjaChatTemplate.load(modelDir, tokenizer, clock);
        return own != null ? own : detect(tokenizer);
    }

    /**
     * The built-in template a tokenizer was trained with, told by its special tokens: ChatML
     * when it has {@code <|im_start|>}, Llama 3 when it has {@code <|start_header_id|>}, plain
     * otherwise.
     */
    static ChatTemplate detect(TextTokenizer tokenizer) {
        if (tokenizer.tokenId("<|im_start|>") >= 0) {
            return CHATML;
        }
        if (tokenizer.tokenId("<|start_header_id|>") >= 0) {
            return LLAMA3;
        }
        return PLAIN;
    }
}
