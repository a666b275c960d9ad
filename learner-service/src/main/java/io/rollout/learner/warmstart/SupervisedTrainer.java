package io.rollout.learner.warmstart;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.rollout.learner.trainer.AdamW;
import io.rollout.learner.trainer.OptimizerConfig;
import io.rollout.policy.Policy;
import io.rollout.policy.scoring.ResponseScorer;
import io.rollout.policy.scoring.ResponseScores;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Full-parameter supervised fine-tuning: next-token cross-entropy on the response tokens of
 * (prompt, response) pairs, prompt tokens unscored, every weight of the model trained with
 * AdamW. It changes the policy's base model in place; the caller writes it out and closes the
 * policy. Every array of a step lives in a sub-manager closed at its end, so a long run holds
 * constant native memory.
 */
public final class SupervisedTrainer implements AutoCloseable {

    private final Policy policy;
    private final ResponseScorer scorer;
    private final List<NDArray> weights;
    private final AdamW optimizer;

    /** Makes every weight of {@code policy}'s model trainable. */
    public SupervisedTrainer(Policy policy, OptimizerConfig config) {
        this.policy = policy;
        this.scorer = policy.scorer();
        this.weights = new ArrayList<>(policy.model().namedWeights().values());
        weights.forEach(w -> w.setRequiresGradient(true));
        this.optimizer = new AdamW(config, weights);
    }

    /** Optimizer steps taken so far. */
    public long steps() {
        return optimizer.steps();
    }

    /**
     * One optimizer step on the mean token cross-entropy of {@code responses} after
     * {@code prompts}, at {@code learningRate}. Returns that mean loss (nats per response token,
     * before the step).
     */
    public double step(List<int[]> prompts, List<int[]> responses, double learningRate) {
        // Autograd records only inside a gradient collector; a new thread starts with it on.
        JniUtils.setGradMode(false);
        double loss;
        try (NDManager scope = policy.model().manager().newSubManager()) {
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                ResponseScores s = scorer.score(scope, prompts, responses, 1.0, null);
                NDArray tokens = s.mask().sum();
                NDArray mean = s.logProbs().sum().neg().div(tokens);
                gc.backward(mean);
                loss = mean.toType(DataType.FLOAT64, false).getDouble();
            }
        }
        optimizer.update(learningRate);
        return loss;
    }

    /** The mean token cross-entropy of {@code responses} after {@code prompts}, without training. */
    public double loss(List<int[]> prompts, List<int[]> responses) {
        JniUtils.setGradMode(false);
        try (NDManager scope = policy.model().manager().newSubManager()) {
            ResponseScores s = scorer.score(scope, prompts, responses, 1.0, null);
            return s.logProbs().sum().neg().div(s.mask().sum()).toType(DataType.FLOAT64, false).getDouble();
        }
    }

    /** The trained weights by tensor name (the model's own arrays). */
    public Map<String, NDArray> weights() {
        return policy.model().namedWeights();
    }

    /** Frees the optimizer state and turns gradient tracking of the weights off again. */
    @Override
    public void close() {
        optimizer.close();
        weights.forEach(w -> w.setRequiresGradient(false));
    }
}
