package io.rollout.policy.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import io.rollout.policy.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * A model directory's {@code tokenizer.json} through DJL's Hugging Face tokenizers, with no
 * special tokens added, no truncation and no padding: the chat template decides what
 * special tokens a prompt has. Text is encoded as given (no prefix space, no accent
 * stripping, no lower-casing before the tokenizer's own normalizer).
 *
 * <p>{@link #encode} asks the native tokenizer for the ids alone: DJL's {@code encode} also
 * fetches the tokens, word and type ids, masks and character spans of every token, about ten
 * native calls and as many arrays per prompt: a 38-token prompt took 58-62 us that way,
 * 25-30 us this way ({@code PolicyBenchmark}'s tokenize line, docs/benchmarks.md).
 */
public final class TextTokenizer implements AutoCloseable {

    public static final String FILE = "tokenizer.json";

    private final HuggingFaceTokenizer tokenizer;
    private final Path file;

    private TextTokenizer(HuggingFaceTokenizer tokenizer, Path file) {
        this.tokenizer = tokenizer;
        this.file = file;
    }

    /** Loads {@code dir/tokenizer.json}. */
    public static TextTokenizer load(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "missing tokenizer (tokenizer.json)");
        }
        try {
            // stripAccents and addPrefixSpace given (as false) keep DJL from taking them from a
            // tokenizer config and changing the text before the native tokenizer sees it, which
            // encode's direct native call would not do.
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "false", "truncation", "false", "padding", "false",
                    "stripAccents", "false", "addPrefixSpace", "false")), file);
        } catch (IOException | RuntimeException e) {
            throw new ModelFormatException(file, "cannot load tokenizer: " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    /** The token ids of {@code text}; the same as DJL's {@code encode(text, false, false).getIds()}. */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        long encoding = TokenizersLibrary.LIB.encode((Long) tokenizer.getHandle(), text, false);
        long[] ids;
        try {
            ids = TokenizersLibrary.LIB.getTokenIds(encoding);
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Decodes ids to text, skipping special tokens. */
    public String decode(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return tokenizer.decode(l, true);
    }

    /** The id of a token (special tokens included), or -1 when the vocabulary lacks it. */
    public int tokenId(String token) {
        Encoding e = tokenizer.encode(token, false, false);
        long[] ids = e.getIds();
        return ids.length == 1 && token.equals(e.getTokens()[0]) ? Math.toIntExact(ids[0]) : -1;
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
