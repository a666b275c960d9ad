package io.rollout.policy.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TextTokenizer#encode} asks the native tokenizer for the ids alone; it must give the
 * ids of DJL's full {@code encode}, for the tiny model's word-level tokenizer and for the
 * byte-level BPE tokenizers of real models (downloaded by the build into
 * {@code target/tokenizers}, as for {@link ChatTemplateRealModelsTest}).
 */
class TextTokenizerTest {

    private static final List<String> MODELS = List.of("qwen3", "qwen2_5", "llama3", "llama3_1", "llama3_2");

    @TempDir
    Path dir;

    @Test
    void shouldGiveTheIdsOfTheFullEncodeForTheTinyTokenizer() throws IOException {
        TinyModels.write(dir, TinyModelSpec.defaults(), TinyModels.defaultWords(), 7);
        assertSameIds(dir, texts(TinyModels.defaultWords()));
    }

    @Test
    void shouldGiveTheIdsOfTheFullEncodeForRealModelsTokenizers() throws IOException {
        Path root = Path.of(System.getProperty("basedir", ".")).resolve("target/tokenizers");
        for (String model : MODELS) {
            Path modelDir = root.resolve(model);
            assertThat(modelDir.resolve(TextTokenizer.FILE))
                    .as("tokenizers are downloaded by the build: mvn -pl policy generate-test-resources")
                    .exists();
            assertSameIds(modelDir, texts(List.of("the", "box", "Ünïcödé", "你好", "🙂", "<|im_end|>", "<think>")));
        }
    }

    @Test
    void shouldRefuseToEncodeOnceClosed() throws IOException {
        TinyModels.write(dir, TinyModelSpec.defaults(), TinyModels.defaultWords(), 7);
        TextTokenizer tokenizer = TextTokenizer.load(dir);
        tokenizer.close();
        assertThatThrownBy(() -> tokenizer.encode("up")).isInstanceOf(IllegalStateException.class);
    }

    private static void assertSameIds(Path modelDir, List<String> texts) throws IOException {
        try (TextTokenizer tokenizer = TextTokenizer.load(modelDir);
                HuggingFaceTokenizer full = HuggingFaceTokenizer.newInstance(modelDir.resolve(TextTokenizer.FILE),
                        Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false"))) {
            for (String text : texts) {
                long[] expected = full.encode(text, false, false).getIds();
                int[] ids = tokenizer.encode(text);
                assertThat(Arrays.stream(ids).asLongStream().toArray()).as(modelDir.getFileName() + ": " + text)
                        .containsExactly(expected);
            }
        }
    }

    /** Fixed texts (empty, blanks, a Sokoban board, a prompt with history) and seeded random ones from {@code words}. */
    private static List<String> texts(List<String> words) {
        List<String> texts = new ArrayList<>(List.of("", " ", "\n\n", "  leading and trailing  ",
                "#######\n#  .  #\n# $@  #\n#######\naction:",
                "# # #\naction: up\n# @ #\naction: left\n#.$ #\naction:",
                "Your previous steps, oldest first:\nObservation:\nx\nAction: up\n\nCurrent observation:\ny"));
        SplittableRandom random = new SplittableRandom(11);
        String[] separators = {" ", "\n", ", ", ": ", "  ", "\t", "."};
        for (int t = 0; t < 200; t++) {
            StringBuilder sb = new StringBuilder();
            int n = random.nextInt(1, 60);
            for (int i = 0; i < n; i++) {
                String w = words.get(random.nextInt(words.size()));
                sb.append(random.nextInt(4) == 0 ? w.toUpperCase(java.util.Locale.ROOT) : w)
                        .append(separators[random.nextInt(separators.length)]);
            }
            texts.add(sb.toString());
        }
        texts.add("up ".repeat(5000));
        return texts;
    }
}
