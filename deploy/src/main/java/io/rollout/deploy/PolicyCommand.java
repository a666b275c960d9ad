package io.rollout.deploy;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.deploy.warmstart.WarmStartCommand;
import io.rollout.policy.ModelFormatException;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.sampling.SamplingParams;
import io.rollout.policy.text.ChatTemplate;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.runtime.cli.ModelOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Inspects and samples the policy model: next-token logits, completions, a tiny test model. */
@Command(
        name = "policy",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the policy model of a Hugging Face directory (Qwen2 or Llama: config.json,",
            "safetensors, tokenizer.json) on the CPU, or writes a tiny random one to try things on."
        },
        subcommands = {PolicyCommand.Logits.class, PolicyCommand.Generate.class, PolicyCommand.InitTiny.class,
            WarmStartCommand.class},
        footer = {"", "Exit codes: 0 ok, 2 bad usage, 4 the model, tokenizer or adapter cannot be used."})
final class PolicyCommand implements Runnable {

    /** Exit code when a model, tokenizer or adapter on disk cannot be used. */
    static final int EXIT_MODEL = 4;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
    }

    /** The options every command that loads a model shares: the model's and an adapter. */
    static final class PolicyOptions {
        @Mixin
        private ModelOptions model = new ModelOptions();

        @Option(names = "--adapter", paramLabel = "DIR",
                description = "PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors).")
        Path adapter;

        /** Loads the model (and adapter), runs {@code body}, maps model errors to exit code 4. */
        int run(CommandLine cli, Body body) throws IOException {
            if (model.model() == null) {
                throw new CommandLine.ParameterException(cli, "Missing required option: '--model=DIR'");
            }
            try (Policy policy = Policy.load(model.model(), model.device(), model.dtype());
                    LoraAdapter lora = adapter == null ? null : policy.loadAdapter(adapter)) {
                body.run(policy, lora);
                return 0;
            } catch (ModelFormatException e) {
                cli.getErr().println("error: " + e.getMessage());
                return EXIT_MODEL;
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cli, e.getMessage());
            }
        }

        interface Body {
            void run(Policy policy, LoraAdapter adapter) throws IOException;
        }
    }

    @Command(name = "logits", mixinStandardHelpOptions = true,
            description = {
                "Prints the next-token logits at every position of a token sequence as JSON:",
                "{\"logits\": [[...], ...]}, one row per input position (row i scores the token after token i)."
            })
    static final class Logits implements Callable<Integer> {
        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Mixin
        private PolicyOptions options;

        @Option(names = "--tokens", paramLabel = "IDS", required = true, split = ",",
                description = "Token ids, comma-separated, e.g. 1,2,3.")
        private List<Integer> tokens;

        @Override
        public Integer call() throws IOException {
            int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
            return options.run(spec.commandLine(), (policy, adapter) -> {
                float[][] logits = policy.logits(ids, adapter);
                PrintWriter out = spec.commandLine().getOut();
                JsonGenerator json = new ObjectMapper().getFactory().createGenerator(out);
                json.writeStartObject();
                json.writeArrayFieldStart("logits");
                for (float[] row : logits) {
                    json.writeStartArray();
                    for (float v : row) {
                        json.writeNumber(v);
                    }
                    json.writeEndArray();
                }
                json.writeEndArray();
                json.writeEndObject();
                json.flush();
                out.println();
                out.flush();
            });
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = {
                "Samples completions of a prompt and prints one JSON object per completion:",
                "text, tokens, log_probs (log p under softmax(logits / temperature)) and finish",
                "(STOP_TOKEN, STOP_STRING or LENGTH). The prompt goes through the model's chat",
                "template (ChatML for Qwen2, Llama 3 headers) unless --raw is given."
            })
    static final class Generate implements Callable<Integer> {
        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Mixin
        private PolicyOptions options;

        @Option(names = "--prompt", paramLabel = "TEXT", required = true, description = "The user message.")
        private String prompt;

        @Option(names = "--system", paramLabel = "TEXT", description = "A system message to put first.")
        private String system;

        @Option(names = "--raw", description = "Tokenize the prompt as it is, without the chat template.")
        private boolean raw;

        @Option(names = "--temperature", defaultValue = "1.0",
                description = "Sampling temperature; 0 picks the most likely token (default: ${DEFAULT-VALUE}).")
        private double temperature;

        @Option(names = "--top-p", defaultValue = "1.0",
                description = "Nucleus sampling mass in (0, 1] (default: ${DEFAULT-VALUE}).")
        private double topP;

        @Option(names = "--max-new-tokens", defaultValue = "64",
                description = "At most this many tokens per completion (default: ${DEFAULT-VALUE}).")
        private int maxNewTokens;

        @Option(names = "--stop", paramLabel = "TEXT",
                description = "Stop once the completion's text contains TEXT. Repeatable.")
        private List<String> stops = new ArrayList<>();

        @Option(names = "--count", defaultValue = "1",
                description = "Completions to sample, as one batch (default: ${DEFAULT-VALUE}).")
        private int count;

        @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
        private long seed;

        @Override
        public Integer call() throws IOException {
            if (count < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--count must be at least 1, got " + count);
            }
            return options.run(spec.commandLine(), (policy, adapter) -> {
                SamplingParams params = new SamplingParams(temperature, topP, maxNewTokens, List.of(), stops, seed);
                int[] ids;
                if (raw) {
                    ids = policy.tokenizer().encode(prompt);
                } else {
                    List<ChatTemplate.Message> messages = new ArrayList<>();
                    if (system != null) {
                        messages.add(ChatTemplate.Message.system(system));
                    }
                    messages.add(ChatTemplate.Message.user(prompt));
                    ids = policy.encodeChat(messages, null);
                }
                List<Completion> completions = policy.generate(Collections.nCopies(count, ids), params, adapter);
                ObjectMapper json = new ObjectMapper();
                PrintWriter out = spec.commandLine().getOut();
                for (Completion c : completions) {
                    var node = json.createObjectNode();
                    node.put("text", c.text());
                    var tokens = node.putArray("tokens");
                    for (int t : c.tokens()) {
                        tokens.add(t);
                    }
                    var logProbs = node.putArray("log_probs");
                    for (float lp : c.logProbs()) {
                        logProbs.add(lp);
                    }
                    node.put("finish", c.finish().name());
                    out.println(json.writeValueAsString(node));
                }
                out.flush();
            });
        }
    }

    @Command(name = "init-tiny", mixinStandardHelpOptions = true,
            description = {
                "Writes a tiny Qwen2-architecture model with seeded random weights and a word-level",
                "tokenizer.json in the Hugging Face layout, for local runs and tests.",
                "Prints 'model=DIR vocab=N'."
            })
    static final class InitTiny implements Callable<Integer> {
        @CommandLine.Spec
        private CommandLine.Model.CommandSpec spec;

        @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory to write (created).")
        private Path out;

        @Option(names = "--words", paramLabel = "FILE",
                description = "Vocabulary file: words separated by whitespace, '#' lines are comments"
                        + " (default: a built-in Sokoban and household vocabulary).")
        private Path words;

        @Option(names = "--hidden", defaultValue = "64", description = "Hidden size (default: ${DEFAULT-VALUE}).")
        private int hidden;

        @Option(names = "--intermediate", defaultValue = "128",
                description = "MLP size (default: ${DEFAULT-VALUE}).")
        private int intermediate;

        @Option(names = "--layers", defaultValue = "2", description = "Layers (default: ${DEFAULT-VALUE}).")
        private int layers;

        @Option(names = "--heads", defaultValue = "4", description = "Attention heads (default: ${DEFAULT-VALUE}).")
        private int heads;

        @Option(names = "--kv-heads", defaultValue = "2",
                description = "Key/value heads, dividing --heads (default: ${DEFAULT-VALUE}).")
        private int kvHeads;

        @Option(names = "--max-positions", defaultValue = "4096",
                description = "Longest sequence (default: ${DEFAULT-VALUE}).")
        private int maxPositions;

        @Option(names = "--untied", description = "A separate LM head instead of the tied embedding.")
        private boolean untied;

        @Option(names = "--seed", defaultValue = "0", description = "Weight seed (default: ${DEFAULT-VALUE}).")
        private long seed;

        @Override
        public Integer call() throws IOException {
            TinyModelSpec tiny;
            List<String> vocabulary;
            try {
                tiny = new TinyModelSpec(hidden, intermediate, layers, heads, kvHeads, maxPositions, !untied,
                        1_000_000.0, 0.1);
                vocabulary = words == null ? TinyModels.defaultWords() : readWords(words);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            int size;
            try {
                size = TinyModels.write(out, tiny, vocabulary, seed);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            spec.commandLine().getOut().println("model=" + out + " vocab=" + size);
            spec.commandLine().getOut().flush();
            return 0;
        }

        private List<String> readWords(Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--words: no such file " + file);
            }
            return TinyModels.parseWords(Files.readString(file));
        }
    }

}
