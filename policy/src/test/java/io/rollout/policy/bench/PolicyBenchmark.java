package io.rollout.policy.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.sampling.Generator;
import io.rollout.policy.sampling.SamplingParams;
import io.rollout.policy.scoring.ResponseScores;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Decode speed, cache versus recompute, and training-step time of the policy on the CPU.
 *
 * <p>Per-token decode cost is measured as {@code (T(prompt, 1 + n) - T(prompt, 1)) / n}:
 * the time of n extra decode steps, with prefill and set-up cancelled out. Each figure is
 * the median of the repeats after one warm-up run.
 *
 * <pre>mvn -B -pl policy -Pbench test-compile exec:exec [-Dbench.args="tiny 5"]</pre>
 */
public final class PolicyBenchmark {

    /** A 6x6 Sokoban observation as env-service renders it, then the compact format's {@code action:}. */
    private static final String SOKOBAN_PROMPT = sokobanPrompt("######", "##P__#", "##X_##", "#O__##", "#____#", "######");

    private static String sokobanPrompt(String... rows) {
        StringBuilder sb = new StringBuilder();
        for (String row : rows) {
            if (sb.length() > 0) {
                sb.append('\n');
            }
            row.chars().forEach(c -> sb.append(' ').append((char) c).append(" \t"));
        }
        return sb.append("\naction:").toString();
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "all";
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        System.out.printf("cores=%d repeats=%d%n", Runtime.getRuntime().availableProcessors(), repeats);
        if (which.equals("tiny") || which.equals("all")) {
            run("tiny (hidden 64, 2 layers, 4 heads / 2 kv)", TinyModelSpec.defaults(), repeats);
        }
        if (which.equals("small") || which.equals("all")) {
            run("small (hidden 256, 4 layers, 8 heads / 2 kv, mlp 704)",
                    new TinyModelSpec(256, 704, 4, 8, 2, 4096, true, 1_000_000.0, 0.05), repeats);
        }
    }

    private static void run(String name, TinyModelSpec spec, int repeats) {
        Path dir;
        try {
            dir = java.nio.file.Files.createTempDirectory("policy-bench");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        TinyModels.write(dir, spec, TinyModels.defaultWords(), 1);
        try (Policy policy = Policy.load(dir)) {
            Generator g = new Generator(policy.model(), null, List.of());
            System.out.printf("%n== %s, vocab %d%n", name, policy.config().vocabSize());
            int vocab = policy.config().vocabSize() - 4;
            int n = 64;
            // Let the JIT settle before anything is measured (the first figure was otherwise high).
            for (int i = 0; i < 5; i++) {
                g.generate(prompts(8, 64, vocab), SamplingParams.defaults().withMaxNewTokens(128), null);
            }
            double batch1 = 0;
            for (int batch : new int[] {1, 8, 32}) {
                double perStep = decodeStep(g, prompts(batch, 32, vocab), n, repeats, true);
                double tokensPerSecond = batch * 1000 / perStep;
                if (batch == 1) {
                    batch1 = tokensPerSecond;
                }
                System.out.printf("decode, prompt 32, batch %d: %.2f ms/step, %.0f tokens/s (%.1fx batch 1)%n", batch,
                        perStep, tokensPerSecond, tokensPerSecond / batch1);
            }
            double at128 = decodeStep(g, prompts(1, 128, vocab), n, repeats, true);
            double at1024 = decodeStep(g, prompts(1, 1024, vocab), n, repeats, true);
            System.out.printf("cached decode, batch 1: prompt 128 %.2f ms/token, prompt 1024 %.2f ms/token (ratio %.2f)%n",
                    at128, at1024, at1024 / at128);
            double recompute = decodeStep(g, prompts(1, 1024, vocab), 8, repeats, false);
            System.out.printf("recompute without cache, prompt 1024: %.2f ms/token (%.1fx the cached cost)%n",
                    recompute, recompute / at1024);
            int[] ids = policy.tokenizer().encode(SOKOBAN_PROMPT);
            double[] encode = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                encode[r] = time(() -> {
                    for (int i = 0; i < 20_000; i++) {
                        policy.tokenizer().encode(SOKOBAN_PROMPT);
                    }
                }) / 1e3 / 20_000;
            }
            System.out.printf("tokenize a Sokoban prompt (compact format, %d tokens): %.1f us%n", ids.length,
                    median(encode));
            double train = trainingStep(policy, repeats);
            System.out.printf("training step, 8 x 256 tokens (128 prompt + 128 response), LoRA r8 all projections:"
                    + " %.0f ms forward+backward%n", train);
        }
    }

    private static double decodeStep(Generator g, List<int[]> prompts, int n, int repeats, boolean cached) {
        SamplingParams one = SamplingParams.defaults().withMaxNewTokens(1).withSeed(1);
        SamplingParams more = one.withMaxNewTokens(1 + n);
        Supplier<Long> base = () -> time(() -> call(g, prompts, one, cached));
        Supplier<Long> longer = () -> time(() -> call(g, prompts, more, cached));
        for (int i = 0; i < 2; i++) {
            base.get();
            longer.get();
        }
        double[] perStep = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            perStep[i] = (longer.get() - base.get()) / 1e6 / n;
        }
        return median(perStep);
    }

    private static void call(Generator g, List<int[]> prompts, SamplingParams p, boolean cached) {
        if (cached) {
            g.generate(prompts, p, null);
        } else {
            g.generateWithoutCache(prompts, p, null);
        }
    }

    private static double trainingStep(Policy policy, int repeats) {
        int vocab = policy.config().vocabSize() - 4;
        List<int[]> prompts = prompts(8, 128, vocab);
        List<int[]> responses = prompts(8, 128, vocab);
        try (LoraAdapter adapter = policy.newAdapter(LoraSpec.defaults("bench"), 1)) {
            adapter.setTrainable(true);
            double[] ms = new double[repeats + 1];
            for (int i = 0; i <= repeats; i++) {
                ms[i] = time(() -> {
                    try (NDManager scope = policy.model().manager().newSubManager()) {
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            ResponseScores s = policy.scorer().score(scope, prompts, responses, 1.0, adapter);
                            gc.backward(s.logProbs().sum().neg());
                        }
                        for (NDArray p : adapter.parameters()) {
                            try (NDArray grad = p.getGradient()) {
                                grad.subi(grad);
                            }
                        }
                    }
                }) / 1e6;
            }
            return median(Arrays.copyOfRange(ms, 1, ms.length));
        }
    }

    private static List<int[]> prompts(int batch, int length, int vocab) {
        Random r = new Random(length * 31L + batch);
        List<int[]> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            out.add(r.ints(length, 0, vocab).toArray());
        }
        return out;
    }

    private static long time(Runnable r) {
        long t0 = System.nanoTime();
        r.run();
        return System.nanoTime() - t0;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
