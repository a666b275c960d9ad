package io.rollout.policy.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.policy.ModelFormatException;
import io.rollout.policy.text.jinja.Template;
import io.rollout.policy.text.jinja.TemplateException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's own Jinja chat template, rendered as {@code tokenizer.apply_chat_template(messages,
 * add_generation_prompt=True)} renders it: with the special tokens of
 * {@code tokenizer_config.json} as variables and {@code tools} undefined.
 */
public final class JinjaChatTemplate implements ChatTemplate {

    /** The file newer checkpoints keep the template in; it wins over tokenizer_config.json's. */
    public static final String TEMPLATE_FILE = "chat_template.jinja";
    public static final String CONFIG_FILE = "tokenizer_config.json";

    /** The special token attributes transformers passes to every chat template. */
    private static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
            "pad_token", "cls_token", "mask_token");

    /** End-of-turn and end-of-text markers of the Qwen and Llama families. */
    private static final List<String> TURN_ENDS = List.of("<|im_end|>", "<|eot_id|>");
    private static final List<String> TEXT_ENDS = List.of("<|im_end|>", "<|eot_id|>", "<|end_of_text|>");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final String source;
    private final Template template;
    private final Map<String, Object> specialTokens;
    private final List<String> stopStrings;
    private final Clock clock;

    private JinjaChatTemplate(Path file, String source, Template template, Map<String, Object> specialTokens,
            List<String> stopStrings, Clock clock) {
        this.file = file;
        this.source = source;
        this.template = template;
        this.specialTokens = specialTokens;
        this.stopStrings = stopStrings;
        this.clock = clock;
    }

    /**
     * The template of {@code modelDir} ({@code chat_template.jinja}, else {@code chat_template}
     * in {@code tokenizer_config.json}: a string, or a list of {@code {name, template}} whose
     * {@code default} is used), or null when the model has none.
     */
    static JinjaChatTemplate load(Path modelDir, TextTokenizer tokenizer, Clock clock) {
        Path configFile = modelDir.resolve(CONFIG_FILE);
        Path jinjaFile = modelDir.resolve(TEMPLATE_FILE);
        JsonNode config = JSON.createObjectNode();
        if (Files.isRegularFile(configFile)) {
            try {
                config = JSON.readTree(configFile.toFile());
            } catch (IOException e) {
                throw new ModelFormatException(configFile, "cannot read tokenizer config: " + e.getMessage(), e);
            }
            if (config == null || !config.isObject()) {
                throw new ModelFormatException(configFile, "tokenizer config is not a JSON object");
            }
        }
        Path from;
        String source;
        if (Files.isRegularFile(jinjaFile)) {
            from = jinjaFile;
            try {
                source = Files.readString(jinjaFile, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new ModelFormatException(jinjaFile, "cannot read chat template: " + e.getMessage(), e);
            }
        } else {
            from = configFile;
            source = templateOf(config.get("chat_template"), configFile);
            if (source == null) {
                return null;
            }
        }
        Template template;
        try {
            template = Template.parse(source);
        } catch (TemplateException e) {
            throw new ModelFormatException(from, "cannot parse chat_template: " + e.getMessage(), e);
        }
        Map<String, Object> special = new LinkedHashMap<>();
        for (String key : SPECIAL_TOKENS) {
            String token = tokenText(config.get(key));
            if (token != null) {
                special.put(key, token);
            }
        }
        JsonNode extra = config.get("additional_special_tokens");
        if (extra != null && extra.isArray()) {
            List<Object> tokens = new ArrayList<>();
            for (JsonNode t : extra) {
                String token = tokenText(t);
                if (token != null) {
                    tokens.add(token);
                }
            }
            special.put("additional_special_tokens", Collections.unmodifiableList(tokens));
        }
        return new JinjaChatTemplate(from, source, template, Collections.unmodifiableMap(special),
                stopStrings(source, (String) special.get("eos_token"), tokenizer), clock);
    }

    private static String templateOf(JsonNode node, Path configFile) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            List<String> names = new ArrayList<>();
            for (JsonNode t : node) {
                String name = t.path("name").asText();
                names.add(name);
                if (name.equals("default") && t.path("template").isTextual()) {
                    return t.get("template").asText();
                }
            }
            throw new ModelFormatException(configFile, "chat_template has no template named \"default\" (it has "
                    + names + ")");
        }
        throw new ModelFormatException(configFile, "chat_template must be a string or a list of {name, template}");
    }

    /** A special token in the config: a string, or an AddedToken object {@code {"content": ...}}. */
    private static String tokenText(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        JsonNode content = node.get("content");
        return content != null && content.isTextual() ? content.asText() : null;
    }

    /**
     * End-of-turn markers the template writes and the tokenizer has come first (so the first
     * is the token a chat response ends with), then the eos token, then other end markers the
     * tokenizer has.
     */
    private static List<String> stopStrings(String source, String eos, TextTokenizer tokenizer) {
        List<String> stops = new ArrayList<>();
        for (String s : TURN_ENDS) {
            if (source.contains(s) && tokenizer.tokenId(s) >= 0) {
                stops.add(s);
            }
        }
        if (eos != null && !stops.contains(eos)) {
            stops.add(eos);
        }
        for (String s : TEXT_ENDS) {
            if (!stops.contains(s) && tokenizer.tokenId(s) >= 0) {
                stops.add(s);
            }
        }
        return List.copyOf(stops);
    }

    @Override
    public String render(List<Message> messages, String defaultSystem) {
        List<Object> msgs = new ArrayList<>(messages.size() + 1);
        if (defaultSystem != null && (messages.isEmpty() || !messages.get(0).role().equals("system"))) {
            msgs.add(message(Message.system(defaultSystem)));
        }
        for (Message m : messages) {
            msgs.add(message(m));
        }
        Map<String, Object> vars = new LinkedHashMap<>(specialTokens);
        vars.put("messages", msgs);
        vars.put("add_generation_prompt", true);
        try {
            return template.render(vars, clock);
        } catch (TemplateException e) {
            throw new IllegalArgumentException(file + ": chat_template cannot render this conversation: "
                    + e.getMessage(), e);
        }
    }

    private static Map<String, Object> message(Message m) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", m.role());
        map.put("content", m.content());
        return map;
    }

    @Override
    public List<String> stopStrings() {
        return stopStrings;
    }

    /** The file the template came from ({@code chat_template.jinja} or {@code tokenizer_config.json}). */
    public Path file() {
        return file;
    }

    /** The template's Jinja source. */
    public String source() {
        return source;
    }

    /** The special token variables the template sees ({@code bos_token}, {@code eos_token}, ...). */
    public Map<String, Object> specialTokens() {
        return specialTokens;
    }

    @Override
    public String toString() {
        return "JinjaChatTemplate[" + file + "]";
    }
}
