package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.rollout.learner.trainer.GgpoConfig.Mode;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.model.Linear;
import io.rollout.policy.model.LinearAdapter;
import io.rollout.policy.scoring.ResponseScores;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PolicyTrainerTest {

    static Policy policy;
    static final LoraSpec SPEC = LoraSpec.defaults("tiny").withRank(4);

    @BeforeAll
    static void load() {
        policy = TinyModel.load();
    }

    @AfterAll
    static void close() {
        policy.close();
    }

    static TrainerConfig config(GgpoConfig ggpo) {
        return TrainerConfig.defaults().withGgpo(ggpo).withOptimizer(OptimizerConfig.defaults().withLearningRate(2e-3))
                .withBatching(1, 4, 0);
    }

    double meanLogProb(LoraAdapter adapter, List<TrainingSequence> batch) {
        try (NDManager scope = policy.model().manager().newSubManager()) {
            ResponseScores s = policy.scorer().score(scope, batch.stream().map(TrainingSequence::prompt).toList(),
                    batch.stream().map(TrainingSequence::response).toList(), 1.0, adapter);
            return s.logProbs().sum().getFloat() / s.mask().sum().getFloat();
        }
    }

    /** The batch with the base model's own log-probs as old log-probs: ratio 1 at the first step. */
    List<TrainingSequence> onPolicy(List<TrainingSequence> batch) {
        try (NDManager scope = policy.model().manager().newSubManager()) {
            ResponseScores s = policy.scorer().score(scope, batch.stream().map(TrainingSequence::prompt).toList(),
                    batch.stream().map(TrainingSequence::response).toList(), 1.0, null);
            float[] lp = s.logProbs().toFloatArray();
            int r = (int) s.mask().getShape().get(1);
            return java.util.stream.IntStream.range(0, batch.size()).mapToObj(i -> {
                TrainingSequence x = batch.get(i);
                float[] old = java.util.Arrays.copyOfRange(lp, i * r, i * r + x.response().length);
                return new TrainingSequence(x.prompt(), x.response(), old, x.advantage());
            }).toList();
        }
    }

    /**
     * An update cancelled after some optimizer steps, rolled back to the snapshot taken before
     * it, leaves the trainer exactly where an update that never started would: the same update
     * run again gives the same adapter and optimizer state bit for bit.
     */
    @Test
    void shouldRollACancelledUpdateBackToItsSnapshot() {
        List<TrainingSequence> batch = onPolicy(TinyModel.batch(8, 30, 1f, 5));
        TrainerConfig config = config(GgpoConfig.defaults()).withBatching(1, 2, 1);
        byte[] expectedAdapter;
        byte[] expectedState;
        try (PolicyTrainer plain = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1), config)) {
            plain.update(batch, 0);
            plain.update(batch, 1);
            expectedAdapter = plain.adapter().toBytes();
            expectedState = plain.snapshot().state();
        }
        try (PolicyTrainer trainer = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1), config)) {
            trainer.update(batch, 0);
            PolicyTrainer.Snapshot before = trainer.snapshot();
            int[] passes = {0};
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> trainer.update(batch, 1, () -> ++passes[0] > 5))
                    .isInstanceOf(PolicyTrainer.CancelledException.class);
            assertThat(trainer.optimizerSteps()).as("steps were taken before the cancel")
                    .isGreaterThan(before.optimizerSteps());
            trainer.restore(before);
            assertThat(trainer.optimizerSteps()).isEqualTo(before.optimizerSteps());
            assertThat(trainer.adapter().toBytes()).isEqualTo(before.adapter());
            trainer.update(batch, 1);
            assertThat(trainer.adapter().toBytes()).isEqualTo(expectedAdapter);
            assertThat(trainer.snapshot().state()).isEqualTo(expectedState);
        }
    }

    /**
     * With a zero KL coefficient the base model's pass is skipped: the adapter trains as it does
     * with a KL term too small to change a float (1e-30), and the KL reads NaN, not a made-up 0.
     */
    @Test
    void shouldSkipTheReferencePassWhenTheKlCoefficientIsZeroAndTrainTheSame() {
        List<TrainingSequence> batch = onPolicy(TinyModel.batch(8, 30, 1f, 7));
        TrainerConfig base = config(GgpoConfig.defaults());
        double[] measured = new double[2];
        double[] kl = new double[2];
        double[] coefs = {0.0, 1e-30};
        for (int c = 0; c < 2; c++) {
            try (PolicyTrainer trainer = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1),
                    base.withLoss(base.loss().withKlCoef(coefs[c])))) {
                UpdateStats stats = null;
                for (int v = 0; v < 3; v++) {
                    stats = trainer.update(batch, v);
                }
                kl[c] = stats.kl();
                measured[c] = meanLogProb(trainer.adapter(), batch);
            }
        }
        assertThat(kl[0]).as("KL with coefficient 0").isNaN();
        assertThat(kl[1]).as("KL measured with a coefficient > 0").isFinite().isGreaterThanOrEqualTo(0);
        assertThat(measured[0]).isCloseTo(measured[1], org.assertj.core.api.Assertions.within(1e-5));
    }

    @Test
    void shouldRaiseLogProbsOfPositiveAdvantageTokensAndLowerThoseOfNegativeOnes() {
        for (float advantage : new float[] {1f, -1f}) {
            List<TrainingSequence> batch = onPolicy(TinyModel.batch(8, 30, advantage, 3));
            try (PolicyTrainer trainer = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1),
                    config(GgpoConfig.defaults()))) {
                double before = meanLogProb(trainer.adapter(), batch);
                for (int v = 0; v < 5; v++) {
                    trainer.update(batch, v);
                }
                double after = meanLogProb(trainer.adapter(), batch);
                if (advantage > 0) {
                    assertThat(after).as("A > 0").isGreaterThan(before + 0.05);
                } else {
                    assertThat(after).as("A < 0").isLessThan(before - 0.05);
                }
            }
        }
    }

    @Test
    void shouldLeaveTheBaseWeightsBitIdenticalAfterPerturbedSteps() {
        Map<String, byte[]> before = new HashMap<>();
        policy.model().linears().forEach((k, l) -> before.put(k, bytes(l.weight())));
        GgpoConfig ggpo = new GgpoConfig(Mode.GGPO, 0.5, 1.0, 0);
        try (PolicyTrainer trainer = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1), config(ggpo))) {
            UpdateStats stats = trainer.update(TinyModel.batch(8, 30, 1f, 4), 0);
            trainer.update(TinyModel.batch(8, 30, -1f, 5), 1);
            assertThat(stats.perturbationNormMean()).as("a perturbation was drawn").isGreaterThan(0);
        }
        policy.model().linears().forEach((k, l) -> assertThat(bytes(l.weight())).as(k).isEqualTo(before.get(k)));
    }

    @Test
    void shouldEqualFlatLoraWhenBetaIsZeroAndDifferFromItOtherwise() {
        List<TrainingSequence> batch = TinyModel.batch(8, 30, 1f, 6);
        byte[] flat = trainedBytes(new GgpoConfig(Mode.FLAT, 0.05, 0.5, 0), batch);
        byte[] betaZero = trainedBytes(new GgpoConfig(Mode.GGPO, 0.05, 0.0, 0), batch);
        byte[] ggpo = trainedBytes(new GgpoConfig(Mode.GGPO, 0.05, 1e4, 0), batch);
        byte[] none = trainedBytes(new GgpoConfig(Mode.NONE, 0.05, 0.5, 0), batch);
        assertThat(betaZero).isEqualTo(flat);
        assertThat(ggpo).as("the gradient term changes the noise").isNotEqualTo(flat);
        assertThat(none).as("flat perturbs, none does not").isNotEqualTo(flat);
    }

    byte[] trainedBytes(GgpoConfig ggpo, List<TrainingSequence> batch) {
        try (PolicyTrainer trainer = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1), config(ggpo))) {
            for (int v = 0; v < 3; v++) {
                trainer.update(batch, v);
            }
            return trainer.adapter().toBytes();
        }
    }

    @Test
    void shouldAddNothingInModeNone() {
        try (LoraAdapter adapter = policy.newAdapter(SPEC, 1);
                GgpoPerturbation ggpo = new GgpoPerturbation(new GgpoConfig(Mode.NONE, 0.03, 0.01, 0), policy.model(), adapter);
                NDManager scope = policy.model().manager().newSubManager()) {
            LinearAdapter active = ggpo.perturb(scope, 10, 1);
            assertThat(active).isSameAs(adapter);
            Linear q = policy.model().linears().values().iterator().next();
            assertThat(active.weight(q)).isSameAs(q.weight());
            assertThat(ggpo.lastPerturbationNorm()).isZero();
        }
    }

    /**
     * After a backward pass the stored proxy is g_i^2 = ||row i of s (dB A + B dA)||^2, and the
     * perturbation drawn next has per-row variance f sigma^2 / n (||W'_i||^2 + beta g_i^2).
     */
    @Test
    void shouldStoreTheFormulasGradientProxyAndDrawNoiseWithItsVariance() {
        GgpoConfig config = new GgpoConfig(Mode.GGPO, 0.03, 50.0, 100);
        try (LoraAdapter adapter = policy.newAdapter(SPEC, 2);
                GgpoPerturbation ggpo = new GgpoPerturbation(config, policy.model(), adapter)) {
            // A non-zero B, so W' differs from W and dA is not zero.
            for (NDArray[] ab : adapter.weights().values()) {
                try (NDArray r = ab[1].getManager().randomNormal(0, 0.05f, ab[1].getShape(), ab[1].getDataType())) {
                    ab[1].addi(r);
                }
            }
            adapter.setTrainable(true);
            List<TrainingSequence> batch = TinyModel.batch(6, 30, 1f, 8);
            try (NDManager scope = policy.model().manager().newSubManager()) {
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    ResponseScores s = policy.scorer().score(scope, batch.stream().map(TrainingSequence::prompt).toList(),
                            batch.stream().map(TrainingSequence::response).toList(), 1.0, adapter);
                    gc.backward(s.logProbs().sum().neg());
                }
            }
            ggpo.recordGradients();
            double s = SPEC.scale();
            Map<String, float[]> g2 = new HashMap<>();
            for (var e : adapter.weights().entrySet()) {
                Matrix a = Matrix.of(e.getValue()[0]);
                Matrix b = Matrix.of(e.getValue()[1]);
                Matrix da = Matrix.of(e.getValue()[0].getGradient());
                Matrix db = Matrix.of(e.getValue()[1].getGradient());
                Matrix g = db.times(a).plus(b.times(da)).scaled(s);
                float[] stored = ggpo.state().get("ggpo.g2." + e.getKey()).toFloatArray();
                float[] expected = g.rowSquares();
                for (int i = 0; i < expected.length; i++) {
                    assertThat((double) stored[i]).isCloseTo(expected[i], within(1e-4 * expected[i] + 1e-12));
                }
                g2.put(e.getKey(), expected);
            }
            adapter.parameters().forEach(p -> {
                try (NDArray grad = p.getGradient()) {
                    grad.subi(grad);
                }
            });

            long step = 40;
            double f = config.ramp(step);
            double sumZ2 = 0;
            double sumZ = 0;
            long count = 0;
            double betaShare = 0;
            int draws = 6;
            for (int d = 0; d < draws; d++) {
                try (NDManager scope = policy.model().manager().newSubManager()) {
                    LinearAdapter active = ggpo.perturb(scope, step, 100 + d);
                    for (var e : adapter.weights().entrySet()) {
                        Linear layer = policy.model().linears().get(e.getKey());
                        Matrix w = Matrix.of(layer.weight());
                        Matrix merged = w.plus(Matrix.of(e.getValue()[1]).times(Matrix.of(e.getValue()[0])).scaled(s));
                        Matrix eps = Matrix.of(active.weight(layer)).minus(w);
                        float[] rows = merged.rowSquares();
                        float[] gr = g2.get(e.getKey());
                        for (int i = 0; i < eps.rows; i++) {
                            double variance = f * 0.03 * 0.03 / w.cols * (rows[i] + 50.0 * gr[i]);
                            betaShare += 50.0 * gr[i] / (rows[i] + 50.0 * gr[i]);
                            for (int j = 0; j < eps.cols; j++) {
                                double z = eps.get(i, j) / Math.sqrt(variance);
                                sumZ += z;
                                sumZ2 += z * z;
                                count++;
                            }
                        }
                    }
                }
            }
            double rows = count / (double) policy.model().config().hiddenSize();
            assertThat(betaShare / rows).as("the gradient term carries weight in this test").isGreaterThan(0.05);
            assertThat(sumZ / count).isCloseTo(0, within(0.02));
            assertThat(sumZ2 / count).as("normalised variance over %d elements", count).isCloseTo(1.0, within(0.03));
        }
    }

    static byte[] bytes(NDArray a) {
        ByteBuffer buf = a.toByteBuffer();
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    @Test
    void shouldHoldNativeMemoryFlatOverManyUpdates() throws Exception {
        List<TrainingSequence> batch = TinyModel.batch(4, 30, 1f, 9);
        try (PolicyTrainer trainer = new PolicyTrainer(policy, policy.newAdapter(SPEC, 1),
                config(new GgpoConfig(Mode.GGPO, 0.03, 0.01, 0)).withBatching(1, 2, 1))) {
            trainer.update(batch, 0);
            int modelArrays = policy.model().manager().getManagedArrays().size();
            int adapterArrays = trainer.adapter().parameters().get(0).getManager().getManagedArrays().size();
            long rss = 0;
            for (int v = 1; v <= 150; v++) {
                trainer.update(batch, v);
                if (v == 30) {
                    rss = residentBytes();
                }
            }
            assertThat(policy.model().manager().getManagedArrays()).hasSize(modelArrays);
            assertThat(trainer.adapter().parameters().get(0).getManager().getManagedArrays()).hasSize(adapterArrays);
            assertThat(residentBytes() - rss).as("RSS growth").isLessThan(48L << 20);
        }
    }

    static long residentBytes() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    /** A dense float matrix for computing expectations in plain Java. */
    record Matrix(int rows, int cols, double[] v) {
        static Matrix of(NDArray a) {
            float[] f = a.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            return new Matrix((int) a.getShape().get(0), (int) a.getShape().get(1), d);
        }

        double get(int i, int j) {
            return v[i * cols + j];
        }

        Matrix times(Matrix o) {
            double[] out = new double[rows * o.cols];
            for (int i = 0; i < rows; i++) {
                for (int k = 0; k < cols; k++) {
                    double x = v[i * cols + k];
                    for (int j = 0; j < o.cols; j++) {
                        out[i * o.cols + j] += x * o.v[k * o.cols + j];
                    }
                }
            }
            return new Matrix(rows, o.cols, out);
        }

        Matrix plus(Matrix o) {
            double[] out = v.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] += o.v[i];
            }
            return new Matrix(rows, cols, out);
        }

        Matrix minus(Matrix o) {
            return plus(o.scaled(-1));
        }

        Matrix scaled(double s) {
            double[] out = v.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] *= s;
            }
            return new Matrix(rows, cols, out);
        }

        float[] rowSquares() {
            float[] out = new float[rows];
            for (int i = 0; i < rows; i++) {
                double sum = 0;
                for (int j = 0; j < cols; j++) {
                    sum += v[i * cols + j] * v[i * cols + j];
                }
                out[i] = (float) sum;
            }
            return out;
        }
    }
}
