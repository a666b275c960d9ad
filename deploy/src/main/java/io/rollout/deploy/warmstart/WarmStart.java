package io.rollout.deploy.warmstart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.rollout.actor.prompt.ActionFormat;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.household.HouseholdEnvironment;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.learner.trainer.OptimizerConfig;
import io.rollout.learner.trainer.Shuffle;
import io.rollout.learner.warmstart.SupervisedTrainer;
import io.rollout.policy.Policy;
import io.rollout.policy.model.ModelLoader;
import io.rollout.policy.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Supervised warm start: collects expert demonstrations on training levels in the actors' prompt
 * format, fine-tunes every weight of a base model on them by next-token cross-entropy and writes
 * the result as a new Hugging Face model directory (the base's config and tokenizer files, a new
 * {@code model.safetensors}, and {@code warm_start.json} recording the spec, the base and the
 * figures). The base stays untouched.
 */
public final class WarmStart {

    /** Training levels are drawn below this seed; held-out evaluations use seeds from it on. */
    public static final long TRAINING_SEEDS = 1_000_000_000L;
    /** The record of a warm start inside the model directory it wrote. */
    public static final String RECORD_FILE = "warm_start.json";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** Progress of a warm start, reported about every few seconds and at the end. */
    public interface Listener {
        void progress(long step, long steps, double loss, double seconds);
    }

    /**
     * What a warm start did.
     *
     * @param stoppedEarly whether the time bound ended training before every step of the spec
     */
    public record Result(int demonstrations, int episodes, int heldOut, long steps, double trainLossFirst,
            double trainLossLast, double heldOutLossBefore, double heldOutLossAfter, double seconds,
            boolean stoppedEarly) {

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("demonstrations", demonstrations);
            m.put("episodes", episodes);
            m.put("held_out", heldOut);
            m.put("optimizer_steps", steps);
            m.put("train_loss_first", trainLossFirst);
            m.put("train_loss_last", trainLossLast);
            m.put("held_out_loss_before", heldOutLossBefore);
            m.put("held_out_loss_after", heldOutLossAfter);
            m.put("seconds", seconds);
            m.put("stopped_early", stoppedEarly);
            return m;
        }
    }

    private WarmStart() {}

    /** The built-in environment called {@code name}, whose expert the demonstrations follow. */
    public static EnvironmentFactory environment(String name) {
        return switch (name) {
            case SokobanFactory.NAME -> new SokobanFactory();
            case HouseholdEnvironment.NAME -> new HouseholdFactory();
            default -> throw new IllegalArgumentException("no demonstrations for environment \"" + name
                    + "\" (use sokoban or household)");
        };
    }

    /**
     * Warm-starts the model in {@code base} under {@code spec} and writes it to {@code out}
     * (replaced if it exists; written to a temporary sibling first, so a crash leaves either the
     * old directory or the new one).
     */
    public static Result run(Path base, Path out, WarmStartSpec spec, Listener listener) throws IOException {
        if (Files.exists(out) && Files.isSameFile(base, out)) {
            throw new IllegalArgumentException("the output directory must differ from the base model's");
        }
        EnvironmentFactory factory = environment(spec.env());
        EnvConfig config = EnvConfig.of(spec.envConfig());
        long start = System.nanoTime();
        Result result;
        Path tmp = Files.createDirectories(out.toAbsolutePath().getParent())
                .resolve(out.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        deleteTree(tmp);
        try (Policy policy = Policy.load(base)) {
            ActionFormat format = ActionFormat.named(spec.format(), List.of());
            PromptBuilder prompts = new PromptBuilder(policy, format, spec.history(), spec.maxPromptTokens());
            SplittableRandom seeds = new SplittableRandom(spec.seed());
            Demonstrations.Set train = Demonstrations.collect(policy, prompts, factory, config, spec.maxSteps(),
                    spec.demonstrations(), () -> seeds.nextLong(TRAINING_SEEDS));
            SplittableRandom otherSeeds = new SplittableRandom(~spec.seed());
            Demonstrations.Set heldOut = spec.heldOut() == 0 ? null : Demonstrations.collect(policy, prompts, factory,
                    config, spec.maxSteps(), spec.heldOut(), () -> otherSeeds.nextLong(TRAINING_SEEDS));
            result = train(policy, spec, train, heldOut, listener, start);
            Files.createDirectories(tmp);
            copyModelFiles(base, tmp);
            SafetensorsWriter.write(tmp.resolve(ModelLoader.WEIGHTS_FILE), policy.model().namedWeights(),
                    Map.of("format", "pt"));
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("spec", spec.toJson());
        record.put("base", baseIdentity(base));
        record.put("result", result.toJson());
        Files.write(tmp.resolve(RECORD_FILE), JSON.writeValueAsBytes(record));
        replace(tmp, out);
        return result;
    }

    private static Result train(Policy policy, WarmStartSpec spec, Demonstrations.Set train,
            Demonstrations.Set heldOut, Listener listener, long start) {
        List<Demonstrations.Step> steps = train.steps();
        long total = spec.optimizerSteps();
        double first = Double.NaN;
        double last = Double.NaN;
        long done = 0;
        boolean stoppedEarly = false;
        long lastReport = System.nanoTime();
        try (SupervisedTrainer trainer = new SupervisedTrainer(policy,
                OptimizerConfig.defaults().withLearningRate(spec.learningRate()))) {
            double before = heldOut == null ? Double.NaN : loss(trainer, heldOut.steps(), spec.batchSize());
            SplittableRandom shuffle = new SplittableRandom(spec.seed() ^ 0x5f3759dfL);
            training:
            for (int epoch = 0; epoch < spec.epochs(); epoch++) {
                int[] order = Shuffle.permutation(steps.size(), shuffle);
                for (int from = 0; from < order.length; from += spec.batchSize()) {
                    double elapsed = (System.nanoTime() - start) / 1e9;
                    if (spec.maxSeconds() > 0 && elapsed >= spec.maxSeconds()) {
                        stoppedEarly = true;
                        break training;
                    }
                    List<int[]> prompts = new ArrayList<>();
                    List<int[]> responses = new ArrayList<>();
                    for (int i = from; i < Math.min(order.length, from + spec.batchSize()); i++) {
                        prompts.add(steps.get(order[i]).prompt());
                        responses.add(steps.get(order[i]).response());
                    }
                    double progress = (double) done / total;
                    double lr = spec.learningRate() * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
                    last = trainer.step(prompts, responses, lr);
                    if (done == 0) {
                        first = last;
                    }
                    done++;
                    if (System.nanoTime() - lastReport > 5_000_000_000L) {
                        lastReport = System.nanoTime();
                        listener.progress(done, total, last, (lastReport - start) / 1e9);
                    }
                }
            }
            double after = heldOut == null ? Double.NaN : loss(trainer, heldOut.steps(), spec.batchSize());
            double seconds = (System.nanoTime() - start) / 1e9;
            listener.progress(done, total, last, seconds);
            return new Result(steps.size(), train.episodes(), heldOut == null ? 0 : heldOut.steps().size(), done,
                    first, last, before, after, seconds, stoppedEarly);
        }
    }

    /** Mean token loss over {@code steps}, weighting each batch by its response tokens. */
    private static double loss(SupervisedTrainer trainer, List<Demonstrations.Step> steps, int batch) {
        double sum = 0;
        long tokens = 0;
        for (int from = 0; from < steps.size(); from += batch) {
            List<Demonstrations.Step> part = steps.subList(from, Math.min(steps.size(), from + batch));
            int n = part.stream().mapToInt(s -> s.response().length).sum();
            sum += trainer.loss(part.stream().map(Demonstrations.Step::prompt).toList(),
                    part.stream().map(Demonstrations.Step::response).toList()) * n;
            tokens += n;
        }
        return tokens == 0 ? Double.NaN : sum / tokens;
    }

    /**
     * The spec of the warm start that wrote {@code dir}, with the identity of its base, or null when
     * {@code dir} holds no complete warm-started model.
     */
    public static Map<?, ?> recorded(Path dir) {
        Path file = dir.resolve(RECORD_FILE);
        if (!Files.isRegularFile(file) || !Files.isRegularFile(dir.resolve(ModelLoader.WEIGHTS_FILE))) {
            return null;
        }
        try {
            return JSON.readValue(file.toFile(), Map.class);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether {@code dir} holds a model warm-started from {@code base} under {@code spec}. */
    public static boolean matches(Path dir, Path base, WarmStartSpec spec) throws IOException {
        if (recorded(dir) == null) {
            return false;
        }
        // Both sides as parsed JSON, so a long and an int of the same value compare equal.
        JsonNode record = JSON.readTree(dir.resolve(RECORD_FILE).toFile());
        JsonNode expected = JSON.readTree(JSON.writeValueAsBytes(Map.of("spec", spec.toJson(), "base",
                baseIdentity(base))));
        return expected.get("spec").equals(record.get("spec")) && expected.get("base").equals(record.get("base"));
    }

    /** The sha256 of the base's config, tokenizer and weight files: what makes it this model. */
    static Map<String, String> baseIdentity(Path base) throws IOException {
        Map<String, String> id = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(base)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".json") && !name.equals(RECORD_FILE) || name.endsWith(".safetensors")) {
                    id.put(name, sha256(f));
                }
            }
        }
        return id;
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), digest)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Copies the base's files except its weights (and an older warm-start record). */
    private static void copyModelFiles(Path base, Path to) throws IOException {
        try (Stream<Path> files = Files.list(base)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".safetensors") || name.equals(ModelLoader.INDEX_FILE) || name.equals(RECORD_FILE)) {
                    continue;
                }
                Files.copy(f, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static void replace(Path tmp, Path out) throws IOException {
        Path old = null;
        if (Files.exists(out)) {
            old = out.resolveSibling(out.getFileName() + ".old-" + ProcessHandle.current().pid());
            deleteTree(old);
            Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        if (old != null) {
            deleteTree(old);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }
}
