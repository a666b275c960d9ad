package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.rollout.policy.Engines;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The loss of docs/algorithms.md#the-loss against values worked out by hand for two sequences: one with
 * A = +1 (a token above the clip range, one below, one inside) and one with A = -2 (a ratio of
 * 4 caught by the dual clip, one below the range) and a padded slot.
 */
class PpoLossTest {

    @BeforeAll
    static void engine() {
        Engines.configure();
    }

    // ratios: [1.5, 0.5, 1.1] and [4.0, 0.5, pad]; old log-probs -1; d = ref - new.
    static final float[] OLD = {-1, -1, -1, -1, -1, 0};
    static final float[] RATIO = {1.5f, 0.5f, 1.1f, 4.0f, 0.5f, 1};
    static final float[] D = {0, 0.5f, -0.5f, 3.0f, 0.1f, 0};
    static final float[] ENTROPY = {1.0f, 2.0f, 0.5f, 1.5f, 0.25f, 9f};
    static final float[] MASK = {1, 1, 1, 1, 1, 0};
    static final float[] ADVANTAGE = {1, -2};

    @Test
    void shouldMatchHandComputedLossClipFractionAndGradients() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] newLp = new float[6];
            float[] refLp = new float[6];
            for (int i = 0; i < 6; i++) {
                newLp[i] = MASK[i] == 0 ? 0 : OLD[i] + (float) Math.log(RATIO[i]);
                refLp[i] = newLp[i] + D[i];
            }
            Shape shape = new Shape(2, 3);
            NDArray lp = m.create(newLp, shape);
            NDArray ent = m.create(ENTROPY, shape);
            lp.setRequiresGradient(true);
            ent.setRequiresGradient(true);
            PpoLoss.Terms terms;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                terms = PpoLoss.compute(lp, m.create(OLD, shape), m.create(refLp, shape), m.create(ADVANTAGE),
                        ent, m.create(MASK, shape), 5, LossConfig.defaults());
                gc.backward(terms.loss());
            }
            // Per token l + 0.01 kl - 0.001 H:
            //   A=+1: ratio 1.5 -> max(-1.5, -1.2) = -1.2 (clipped); 0.5 -> max(-0.5, -0.8) = -0.5; 1.1 -> -1.1
            //   A=-2: ratio 4 -> max(8, 2.4) = 8, dual clip min(8, 6) = 6; 0.5 -> max(1.0, 1.6) = 1.6 (clipped)
            //   kl(d) = e^d - d - 1: 0, 0.148721, 0.106531, min(16.0855, 10) = 10, 0.005171
            assertThat(terms.policySum()).isCloseTo(-1.2 - 0.5 - 1.1 + 6 + 1.6, within(1e-5));
            assertThat(terms.klSum()).isCloseTo(10.2604228, within(1e-5));
            assertThat(terms.entropySum()).isCloseTo(5.25, within(1e-6));
            assertThat((double) terms.loss().getFloat()).isCloseTo(4.8973542 / 5, within(1e-5));
            assertThat(terms.clippedTokens()).isEqualTo(3);
            assertThat(terms.tokens()).isEqualTo(5);

            float[] grad = lp.getGradient().toFloatArray();
            // clipped at ratio 1.5 with d = 0: no gradient at all.
            assertThat((double) grad[0]).isCloseTo(0, within(1e-7));
            // unclipped: -A*ratio/5 plus 0.01*(1 - e^d)/5.
            assertThat((double) grad[1]).isCloseTo(-0.5 / 5 + 0.01 * (1 - Math.exp(0.5)) / 5, within(1e-6));
            assertThat((double) grad[2]).isCloseTo(-1.1 / 5 + 0.01 * (1 - Math.exp(-0.5)) / 5, within(1e-6));
            // dual clip and the KL clamp both cut the gradient.
            assertThat((double) grad[3]).isCloseTo(0, within(1e-7));
            // below the range with A < 0: only the KL term is left.
            assertThat((double) grad[4]).isCloseTo(0.01 * (1 - Math.exp(0.1)) / 5, within(1e-7));
            assertThat(grad[5]).as("padding").isZero();
            float[] entGrad = ent.getGradient().toFloatArray();
            assertThat((double) entGrad[0]).isCloseTo(-0.001 / 5, within(1e-9));
            assertThat(entGrad[5]).as("padding").isZero();
        }
    }

    /** The graph's scalars must outlive a garbage collection before the backward pass. */
    @Test
    void shouldGiveTheSameGradientsWhenTheGarbageCollectorRunsBeforeBackward() {
        float[] expected = null;
        for (int run = 0; run < 12; run++) {
            try (NDManager m = NDManager.newBaseManager()) {
                Shape shape = new Shape(2, 3);
                NDArray lp = m.create(new float[] {-0.9f, -1.2f, -0.3f, -0.5f, -2f, 0}, shape);
                NDArray ent = m.create(ENTROPY, shape);
                lp.setRequiresGradient(true);
                ent.setRequiresGradient(true);
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    PpoLoss.Terms terms = PpoLoss.compute(lp, m.create(OLD, shape), m.create(OLD, shape),
                            m.create(ADVANTAGE), ent, m.create(MASK, shape), 5, LossConfig.defaults());
                    if (run > 0) {
                        System.gc();
                        System.gc();
                    }
                    gc.backward(terms.loss());
                }
                float[] grad = lp.getGradient().toFloatArray();
                if (expected == null) {
                    expected = grad;
                } else {
                    assertThat(grad).as("run %d", run).containsExactly(expected);
                }
            }
        }
    }

    @Test
    void shouldDivideByTheGivenTokenCountSoMicroBatchesAddUpToTheMiniBatch() {
        try (NDManager m = NDManager.newBaseManager()) {
            Shape one = new Shape(1, 3);
            float[] lp = {-0.9f, -1.2f, -0.3f};
            float[] old = {-1f, -1f, -1f};
            float[] ent = {1f, 1f, 1f};
            float whole = PpoLoss.compute(m.create(new float[] {-0.9f, -1.2f, -0.3f, -0.5f, -2f, 0},
                    new Shape(2, 3)), m.create(new float[] {-1, -1, -1, -1, -1, 0}, new Shape(2, 3)),
                    m.create(new float[] {-1, -1, -1, -1, -1, 0}, new Shape(2, 3)), m.create(new float[] {0.7f, -0.4f}),
                    m.create(new float[] {1, 1, 1, 1, 1, 0}, new Shape(2, 3)), m.create(MASK, new Shape(2, 3)), 5,
                    LossConfig.defaults()).loss().getFloat();
            float first = PpoLoss.compute(m.create(lp, one), m.create(old, one), m.create(old, one),
                    m.create(new float[] {0.7f}), m.create(ent, one), m.ones(one), 5, LossConfig.defaults())
                    .loss().getFloat();
            Shape two = new Shape(1, 2);
            float second = PpoLoss.compute(m.create(new float[] {-0.5f, -2f}, two), m.create(new float[] {-1, -1}, two),
                    m.create(new float[] {-1, -1}, two), m.create(new float[] {-0.4f}), m.ones(two), m.ones(two), 5,
                    LossConfig.defaults()).loss().getFloat();
            assertThat((double) first + second).isCloseTo(whole, within(1e-6));
        }
    }
}
