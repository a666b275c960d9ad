package io.rollout.learner.trainer;

/** AdamW with decoupled weight decay, and the gradient-norm clip applied before it. */
public record OptimizerConfig(double learningRate, double beta1, double beta2, double epsilon, double weightDecay,
        double maxGradNorm) {

    public OptimizerConfig {
        LossConfig.require(learningRate > 0, "lr must be > 0", learningRate);
        LossConfig.require(beta1 >= 0 && beta1 < 1, "adam-beta1 must be in [0, 1)", beta1);
        LossConfig.require(beta2 >= 0 && beta2 < 1, "adam-beta2 must be in [0, 1)", beta2);
        LossConfig.require(epsilon > 0, "adam-eps must be > 0", epsilon);
        LossConfig.require(weightDecay >= 0, "weight-decay must be >= 0", weightDecay);
        LossConfig.require(maxGradNorm > 0, "grad-clip must be > 0", maxGradNorm);
    }

    /** lr 1e-4, betas 0.9 / 0.999, eps 1e-8, weight decay 0.01, gradient norm clipped at 1.0. */
    public static OptimizerConfig defaults() {
        return new OptimizerConfig(1e-4, 0.9, 0.999, 1e-8, 0.01, 1.0);
    }

    public OptimizerConfig withLearningRate(double lr) {
        return new OptimizerConfig(lr, beta1, beta2, epsilon, weightDecay, maxGradNorm);
    }
}
