package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link AdamW} against PyTorch's AdamW written out in doubles: global-norm clipping,
 * bias-corrected moments, decoupled weight decay, gradients zeroed after the step. The loss is
 * {@code sum(c * p^2)} so each step's gradient is {@code 2 c p}, known without the engine.
 */
class AdamWTest {

    @Test
    void shouldStepAsPyTorchsAdamWWithClippingAndDecay() {
        OptimizerConfig config = new OptimizerConfig(0.05, 0.9, 0.999, 1e-8, 0.1, 0.5);
        SplittableRandom random = new SplittableRandom(3);
        double[][] values = {new double[6], new double[4]};
        double[][] coefficients = {new double[6], new double[4]};
        for (int k = 0; k < 2; k++) {
            for (int j = 0; j < values[k].length; j++) {
                values[k][j] = random.nextDouble(-2, 2);
                coefficients[k][j] = random.nextDouble(0.5, 3);
            }
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray a = manager.create(toFloats(values[0]), new Shape(2, 3));
            NDArray b = manager.create(toFloats(values[1]), new Shape(4));
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            NDArray ca = manager.create(toFloats(coefficients[0]), new Shape(2, 3));
            NDArray cb = manager.create(toFloats(coefficients[1]), new Shape(4));
            double[][] m = {new double[6], new double[4]};
            double[][] v = {new double[6], new double[4]};
            try (AdamW adam = new AdamW(config, List.of(a, b))) {
                for (int step = 1; step <= 6; step++) {
                    try (NDManager scope = manager.newSubManager();
                            GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        NDArray loss = a.mul(a).mul(ca).sum().add(b.mul(b).mul(cb).sum());
                        collector.backward(loss);
                    }
                    double norm = adam.update();

                    double sumSquares = 0;
                    double[][] grads = {new double[6], new double[4]};
                    for (int k = 0; k < 2; k++) {
                        for (int j = 0; j < values[k].length; j++) {
                            grads[k][j] = 2 * coefficients[k][j] * values[k][j];
                            sumSquares += grads[k][j] * grads[k][j];
                        }
                    }
                    double expectedNorm = Math.sqrt(sumSquares);
                    assertThat(norm).as("norm before clipping, step " + step)
                            .isCloseTo(expectedNorm, within(1e-5 * expectedNorm));
                    double clip = Math.min(1, config.maxGradNorm() / (expectedNorm + 1e-6));
                    double bc1 = 1 - Math.pow(config.beta1(), step);
                    double bc2 = 1 - Math.pow(config.beta2(), step);
                    for (int k = 0; k < 2; k++) {
                        for (int j = 0; j < values[k].length; j++) {
                            double g = grads[k][j] * clip;
                            m[k][j] = config.beta1() * m[k][j] + (1 - config.beta1()) * g;
                            v[k][j] = config.beta2() * v[k][j] + (1 - config.beta2()) * g * g;
                            double update = m[k][j] / bc1 / (Math.sqrt(v[k][j] / bc2) + config.epsilon());
                            values[k][j] = values[k][j] * (1 - config.learningRate() * config.weightDecay())
                                    - config.learningRate() * update;
                        }
                    }
                    assertClose(a, values[0], "a after step " + step);
                    assertClose(b, values[1], "b after step " + step);
                    assertClose(adam.state().get("adamw.m.0"), m[0], "first moment of a, step " + step);
                    assertClose(adam.state().get("adamw.v.1"), v[1], "second moment of b, step " + step);
                    assertThat(a.getGradient().abs().max().getFloat()).as("a's gradient zeroed").isZero();
                    assertThat(b.getGradient().abs().max().getFloat()).as("b's gradient zeroed").isZero();
                }
                assertThat(adam.steps()).isEqualTo(6);
            }
        }
    }

    private static void assertClose(NDArray actual, double[] expected, String what) {
        float[] got = actual.toFloatArray();
        assertThat(got).as(what).hasSize(expected.length);
        for (int j = 0; j < expected.length; j++) {
            assertThat((double) got[j]).as(what + " [" + j + "]")
                    .isCloseTo(expected[j], within(1e-5 + 1e-5 * Math.abs(expected[j])));
        }
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
