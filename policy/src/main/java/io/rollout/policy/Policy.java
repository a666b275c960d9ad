package io.rollout.policy;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.model.DecoderModel;
import io.rollout.policy.model.ModelConfig;
import io.rollout.policy.model.ModelLoader;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.sampling.ContinuousBatcher;
import io.rollout.policy.sampling.Generator;
import io.rollout.policy.sampling.SamplingParams;
import io.rollout.policy.scoring.ResponseScorer;
import io.rollout.policy.text.ChatTemplate;
import io.rollout.policy.text.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A loaded policy: the frozen base model of a Hugging Face directory, its tokenizer and chat
 * template, batched sampling and the training forward. Adapters are separate values passed
 * to each call (null = the base model, which is the KL reference policy), so an actor
 * hot-swaps one by passing another and a learner trains one while others sample.
 */
public final class Policy implements AutoCloseable {

    private final Path dir;
    private final DecoderModel model;
    private final TextTokenizer tokenizer;
    private final ChatTemplate template;
    private final Generator generator;
    private final ResponseScorer scorer;

    private Policy(Path dir, DecoderModel model, TextTokenizer tokenizer) {
        this.dir = dir;
        this.model = model;
        this.tokenizer = tokenizer;
        // the model's own chat_template when it ships one, else a built-in format (ChatTemplate.load)
        this.template = tokenizer == null ? ChatTemplate.PLAIN : ChatTemplate.load(dir, tokenizer);
        Set<Integer> stops = new LinkedHashSet<>(model.config().stopTokenIds());
        if (tokenizer != null) {
            for (String s : template.stopStrings()) {
                int id = tokenizer.tokenId(s);
                if (id >= 0) {
                    stops.add(id);
                }
            }
        }
        this.generator = new Generator(model, tokenizer == null ? null : tokenizer::decode, new ArrayList<>(stops));
        this.scorer = new ResponseScorer(model);
    }

    /**
     * Loads the model in {@code dir} ({@code config.json}, safetensors, and
     * {@code tokenizer.json} when present, with the chat template of {@code chat_template.jinja}
     * or {@code tokenizer_config.json}).
     *
     * @param device {@code cpu}, {@code gpu} or {@code gpu:N}
     * @param dtype {@code auto} (= float32), {@code float32}, {@code float16} (GPU) or
     *     {@code float64}; bfloat16 checkpoints load into any of them. bfloat16 compute is
     *     refused: DJL 0.36's PyTorch engine cannot create bfloat16 tensors.
     */
    public static Policy load(Path dir, String device, String dtype) {
        Engines.configure();
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir, "not a directory");
        }
        Device d = Engines.device(device);
        DecoderModel model = ModelLoader.load(dir, d, dataType(dtype));
        try {
            TextTokenizer tok = Files.isRegularFile(dir.resolve(TextTokenizer.FILE)) ? TextTokenizer.load(dir) : null;
            try {
                return new Policy(dir, model, tok);
            } catch (RuntimeException e) {
                if (tok != null) {
                    tok.close();
                }
                throw e;
            }
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Loads on the CPU in float32. */
    public static Policy load(Path dir) {
        return load(dir, "cpu", "auto");
    }

    static DataType dataType(String name) {
        switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "auto":
            case "float32":
            case "fp32":
                return DataType.FLOAT32;
            case "bfloat16":
            case "bf16":
                throw new IllegalArgumentException("dtype bfloat16 is not available: DJL 0.36's PyTorch engine "
                        + "cannot create bfloat16 tensors (bfloat16 checkpoints load as float32 or float16)");
            case "float16":
            case "fp16":
                return DataType.FLOAT16;
            case "float64":
                return DataType.FLOAT64;
            default:
                throw new IllegalArgumentException("unknown dtype \"" + name
                        + "\" (use auto, float32, float16 or float64)");
        }
    }

    public Path directory() {
        return dir;
    }

    public DecoderModel model() {
        return model;
    }

    public ModelConfig config() {
        return model.config();
    }

    /** The tokenizer; a {@link ModelFormatException} naming the file when the directory has none. */
    public TextTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new ModelFormatException(dir.resolve(TextTokenizer.FILE), "missing tokenizer (tokenizer.json)");
        }
        return tokenizer;
    }

    /** The model's chat template ({@link ChatTemplate#load}); {@link ChatTemplate#PLAIN} without a tokenizer. */
    public ChatTemplate chatTemplate() {
        return template;
    }

    /** The token ids of a conversation rendered with the model's chat template. */
    public int[] encodeChat(List<ChatTemplate.Message> messages, String defaultSystem) {
        return tokenizer().encode(template.render(messages, defaultSystem));
    }

    /**
     * The token a response ends with: the chat template's end of turn (e.g. {@code <|im_end|>})
     * for a chat prompt, else the model's first eos token; -1 when the model names none.
     */
    public int endOfResponseToken(boolean chat) {
        if (chat && tokenizer != null) {
            for (String s : template.stopStrings()) {
                int id = tokenizer.tokenId(s);
                if (id >= 0) {
                    return id;
                }
            }
        }
        List<Integer> eos = model.config().stopTokenIds();
        return eos.isEmpty() ? -1 : eos.get(0);
    }

    /** Samples one completion per prompt (KV cache, batched). */
    public List<Completion> generate(List<int[]> prompts, SamplingParams params, LoraAdapter adapter) {
        return generator.generate(prompts, params, adapter);
    }

    /**
     * A continuous batcher over this policy's model: one decode batch that concurrent callers'
     * sequences join and leave, run by a thread of its own named {@code threadName}. Close it
     * before the policy.
     */
    public ContinuousBatcher newBatcher(ContinuousBatcher.Settings settings, ContinuousBatcher.Listener listener,
            String threadName) {
        return new ContinuousBatcher(generator, settings, listener, threadName);
    }

    public Generator generator() {
        return generator;
    }

    /** The training forward (log-probs and entropies of response tokens). */
    public ResponseScorer scorer() {
        return scorer;
    }

    /** Next-token logits at every position of {@code tokens}. */
    public float[][] logits(int[] tokens, LoraAdapter adapter) {
        return model.positionLogits(tokens, adapter);
    }

    /** A fresh adapter (B = 0, so it starts as the base model). */
    public LoraAdapter newAdapter(LoraSpec spec, long seed) {
        return LoraAdapter.initialize(model, spec, seed);
    }

    /** Loads a PEFT adapter directory made for this base model. */
    public LoraAdapter loadAdapter(Path adapterDir) {
        return LoraAdapter.load(model, adapterDir);
    }

    /** Reads adapter bytes published over Kafka. */
    public LoraAdapter adapterFromBytes(byte[] bytes) {
        return LoraAdapter.fromBytes(model, bytes);
    }

    @Override
    public void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
        model.close();
    }
}
