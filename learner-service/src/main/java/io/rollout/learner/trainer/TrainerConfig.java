package io.rollout.learner.trainer;

/**
 * How one policy version is trained from a batch: {@code ppoEpochs} passes over the batch in
 * mini-batches of {@code miniBatchSize} samples, one optimizer step per mini-batch;
 * {@code microBatchSize} (0: the whole mini-batch) splits a mini-batch's forward/backward to
 * bound memory without changing the step. {@code temperature} must be the actors' sampling
 * temperature, since old log-probs were recorded under {@code softmax(logits / T)}.
 */
public record TrainerConfig(LossConfig loss, OptimizerConfig optimizer, GgpoConfig ggpo, int ppoEpochs,
        int miniBatchSize, int microBatchSize, double temperature, long seed) {

    public TrainerConfig {
        if (ppoEpochs < 1) {
            throw new IllegalArgumentException("ppo-epochs must be >= 1, got " + ppoEpochs);
        }
        if (miniBatchSize < 1) {
            throw new IllegalArgumentException("mini-batch-size must be >= 1, got " + miniBatchSize);
        }
        if (microBatchSize < 0) {
            throw new IllegalArgumentException("micro-batch-size must be >= 0 (0: whole mini-batch), got "
                    + microBatchSize);
        }
        LossConfig.require(temperature > 0, "temperature must be > 0", temperature);
    }

    public static TrainerConfig defaults() {
        return new TrainerConfig(LossConfig.defaults(), OptimizerConfig.defaults(), GgpoConfig.defaults(), 1, 32, 0,
                1.0, 0);
    }

    public TrainerConfig withLoss(LossConfig newLoss) {
        return new TrainerConfig(newLoss, optimizer, ggpo, ppoEpochs, miniBatchSize, microBatchSize, temperature, seed);
    }

    public TrainerConfig withTemperature(double t) {
        return new TrainerConfig(loss, optimizer, ggpo, ppoEpochs, miniBatchSize, microBatchSize, t, seed);
    }

    public TrainerConfig withSeed(long s) {
        return new TrainerConfig(loss, optimizer, ggpo, ppoEpochs, miniBatchSize, microBatchSize, temperature, s);
    }

    public TrainerConfig withGgpo(GgpoConfig newGgpo) {
        return new TrainerConfig(loss, optimizer, newGgpo, ppoEpochs, miniBatchSize, microBatchSize, temperature, seed);
    }

    public TrainerConfig withOptimizer(OptimizerConfig newOptimizer) {
        return new TrainerConfig(loss, newOptimizer, ggpo, ppoEpochs, miniBatchSize, microBatchSize, temperature, seed);
    }

    public TrainerConfig withBatching(int epochs, int miniBatch, int microBatch) {
        return new TrainerConfig(loss, optimizer, ggpo, epochs, miniBatch, microBatch, temperature, seed);
    }
}
