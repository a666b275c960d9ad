package io.rollout.learner.trainer;

import static io.rollout.policy.sampling.Seeds.mix64;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.model.LinearAdapter;
import io.rollout.policy.safetensors.SafetensorsFile;
import io.rollout.policy.safetensors.SafetensorsWriter;
import io.rollout.policy.scoring.ResponseScorer;
import io.rollout.policy.scoring.ResponseScores;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * Trains a LoRA adapter on batches of samples: the loss of {@link PpoLoss} with new log-probs
 * from the adapter (under the GGPO perturbation) and reference log-probs from the base model
 * (adapter off), AdamW after gradient-norm clipping. Every array of a step lives in a
 * sub-manager closed at the end of the step, so a run of any length holds constant native memory.
 */
public final class PolicyTrainer implements AutoCloseable {

    private final Policy policy;
    private final LoraAdapter adapter;
    private final TrainerConfig config;
    private final ResponseScorer scorer;
    private final AdamW optimizer;
    private final GgpoPerturbation ggpo;

    /** Takes ownership of {@code adapter} (trainable from now on). */
    public PolicyTrainer(Policy policy, LoraAdapter adapter, TrainerConfig config) {
        this.policy = policy;
        this.adapter = adapter;
        this.config = config;
        this.scorer = policy.scorer();
        adapter.setTrainable(true);
        this.optimizer = new AdamW(config.optimizer(), adapter.parameters());
        this.ggpo = new GgpoPerturbation(config.ggpo(), policy.model(), adapter);
    }

    public LoraAdapter adapter() {
        return adapter;
    }

    /** Optimizer steps taken so far (GGPO's t). */
    public long optimizerSteps() {
        return optimizer.steps();
    }

    /** Thrown by {@link #update(List, long, BooleanSupplier)} when it was told to stop midway. */
    public static final class CancelledException extends RuntimeException {
        CancelledException(int optimizerSteps) {
            super("update cancelled after " + optimizerSteps + " optimizer steps");
        }
    }

    /**
     * The adapter, optimizer and GGPO state at one moment, held as bytes: what an abandoned
     * update is rolled back to.
     */
    public record Snapshot(byte[] adapter, byte[] state, long optimizerSteps) {}

    /**
     * One policy update: {@code ppoEpochs} shuffled passes over {@code batch}. {@code version}
     * only seeds the shuffle, so a resumed run repeats the order.
     */
    public UpdateStats update(List<TrainingSequence> batch, long version) {
        return update(batch, version, () -> false);
    }

    /**
     * {@link #update(List, long)} that checks {@code cancelled} before every forward/backward
     * pass and throws {@link CancelledException} once it is true. The adapter and optimizer are
     * then part-way through the update: {@link #restore(Snapshot)} a snapshot taken before it.
     */
    public UpdateStats update(List<TrainingSequence> batch, long version, BooleanSupplier cancelled) {
        if (batch.isEmpty()) {
            throw new IllegalArgumentException("empty batch");
        }
        // Autograd records only inside a gradient collector; a new thread starts with it on.
        JniUtils.setGradMode(false);
        Map<Integer, float[]> reference = new HashMap<>();
        Totals totals = new Totals();
        for (int epoch = 0; epoch < config.ppoEpochs(); epoch++) {
            int[] order = Shuffle.permutation(batch.size(),
                    new SplittableRandom(mix64(mix64(mix64(config.seed()) ^ version) ^ epoch)));
            for (int from = 0; from < order.length; from += config.miniBatchSize()) {
                int to = Math.min(order.length, from + config.miniBatchSize());
                List<Integer> mini = new ArrayList<>();
                for (int i = from; i < to; i++) {
                    mini.add(order[i]);
                }
                optimizerStep(batch, mini, reference, totals, cancelled);
            }
        }
        return totals.stats(batch.size(), config.loss());
    }

    private void optimizerStep(List<TrainingSequence> batch, List<Integer> mini, Map<Integer, float[]> reference,
            Totals totals, BooleanSupplier cancelled) {
        long tokens = 0;
        for (int i : mini) {
            tokens += batch.get(i).response().length;
        }
        int micro = config.microBatchSize() == 0 ? mini.size() : config.microBatchSize();
        long step = optimizer.steps();
        try (NDManager stepScope = policy.model().manager().newSubManager()) {
            int noiseSeed = (int) mix64(mix64(config.seed() ^ 0x6770706fL) ^ step);
            LinearAdapter active = ggpo.perturb(stepScope, step, noiseSeed);
            for (int from = 0; from < mini.size(); from += micro) {
                if (cancelled.getAsBoolean()) {
                    throw new CancelledException(totals.steps);
                }
                List<Integer> part = mini.subList(from, Math.min(mini.size(), from + micro));
                List<int[]> prompts = new ArrayList<>();
                List<int[]> responses = new ArrayList<>();
                for (int i : part) {
                    prompts.add(batch.get(i).prompt());
                    responses.add(batch.get(i).response());
                }
                try (NDManager scope = stepScope.newSubManager()) {
                    // The KL term needs the base model's log-probs, a forward pass of its own;
                    // with a zero coefficient it adds nothing to the loss, so the pass is skipped.
                    boolean measureKl = config.loss().klCoef() > 0;
                    if (measureKl) {
                        ensureReference(scope, batch, part, prompts, responses, reference);
                    }
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        ResponseScores s = scorer.score(scope, prompts, responses, config.temperature(), active);
                        int r = (int) s.mask().getShape().get(1);
                        DataType type = s.logProbs().getDataType();
                        NDArray old = scope.create(padded(part, r, i -> batch.get(i).oldLogProbs()),
                                new Shape(part.size(), r)).toType(type, false);
                        NDArray ref = measureKl
                                ? scope.create(padded(part, r, reference::get), new Shape(part.size(), r))
                                        .toType(type, false)
                                : s.logProbs().stopGradient();
                        float[] adv = new float[part.size()];
                        for (int k = 0; k < part.size(); k++) {
                            adv[k] = batch.get(part.get(k)).advantage();
                        }
                        PpoLoss.Terms terms = PpoLoss.compute(s.logProbs(), old, ref,
                                scope.create(adv).toType(type, false), s.entropies(), s.mask(), tokens,
                                config.loss());
                        gc.backward(terms.loss());
                        totals.add(terms);
                    }
                }
            }
            ggpo.recordGradients();
            totals.step(optimizer.update(), ggpo.lastPerturbationNorm());
        }
    }

    /** Base-model log-probs (adapter off) of the part's responses, computed once per update. */
    private void ensureReference(NDManager scope, List<TrainingSequence> batch, List<Integer> part,
            List<int[]> prompts, List<int[]> responses, Map<Integer, float[]> reference) {
        if (part.stream().allMatch(reference::containsKey)) {
            return;
        }
        ResponseScores ref = scorer.score(scope, prompts, responses, config.temperature(), null);
        float[] values = ref.logProbs().toType(DataType.FLOAT32, false).toFloatArray();
        int r = (int) ref.mask().getShape().get(1);
        for (int k = 0; k < part.size(); k++) {
            int len = batch.get(part.get(k)).response().length;
            float[] row = new float[len];
            System.arraycopy(values, k * r, row, 0, len);
            reference.put(part.get(k), row);
        }
    }

    private static float[] padded(List<Integer> part, int width, IntFunction<float[]> rows) {
        float[] out = new float[part.size() * width];
        for (int k = 0; k < part.size(); k++) {
            float[] row = rows.apply(part.get(k));
            System.arraycopy(row, 0, out, k * width, row.length);
        }
        return out;
    }

    /** Optimizer and GGPO state as named tensors, for checkpoints. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> state = new LinkedHashMap<>(optimizer.state());
        state.putAll(ggpo.state());
        return state;
    }

    /** A copy of the adapter, optimizer and GGPO state (a few copies of the adapter's size). */
    public Snapshot snapshot() {
        return new Snapshot(adapter.toBytes(), SafetensorsWriter.toBytes(state(), Map.of()), optimizer.steps());
    }

    /** Puts the adapter, optimizer and GGPO state back to {@code snapshot}, and clears gradients. */
    public void restore(Snapshot snapshot) {
        try (LoraAdapter saved = LoraAdapter.fromBytes(policy.model(), snapshot.adapter())) {
            List<NDArray> from = saved.parameters();
            List<NDArray> to = adapter.parameters();
            for (int i = 0; i < to.size(); i++) {
                from.get(i).copyTo(to.get(i));
            }
        }
        optimizer.clearGradients();
        restore(SafetensorsFile.of(snapshot.state(), java.nio.file.Path.of("<trainer snapshot>")),
                snapshot.optimizerSteps());
    }

    /** Restores {@link #state()} and the optimizer's step count from a checkpoint. */
    public void restore(SafetensorsFile state, long optimizerSteps) {
        optimizer.restore(state, optimizerSteps);
        ggpo.restore(state);
    }

    @Override
    public void close() {
        ggpo.close();
        optimizer.close();
        adapter.close();
    }

    /** Sums over an update's mini-batches. */
    private static final class Totals {
        double policy;
        double kl;
        double entropy;
        double clipped;
        double tokens;
        double gradNormSum;
        double gradNormMax;
        double perturbationSum;
        int steps;

        void add(PpoLoss.Terms t) {
            policy += t.policySum();
            kl += t.klSum();
            entropy += t.entropySum();
            clipped += t.clippedTokens();
            tokens += t.tokens();
        }

        void step(double gradNorm, double perturbation) {
            steps++;
            gradNormSum += gradNorm;
            gradNormMax = Math.max(gradNormMax, gradNorm);
            perturbationSum += perturbation;
        }

        UpdateStats stats(int samples, LossConfig c) {
            double n = Math.max(1, tokens);
            double loss = (policy + c.klCoef() * kl - c.entropyCoef() * entropy) / n;
            double meanKl = c.klCoef() > 0 ? kl / n : Double.NaN; // else the base model's pass was skipped
            return new UpdateStats(samples, (long) tokens, steps, loss, policy / n, meanKl, entropy / n, clipped / n,
                    gradNormSum / steps, gradNormMax, perturbationSum / steps);
        }
    }
}
