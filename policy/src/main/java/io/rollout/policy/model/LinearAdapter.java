package io.rollout.policy.model;

import ai.djl.ndarray.NDArray;

/**
 * Something added to the output of the model's linear layers: a LoRA adapter, optionally
 * with a training-time weight perturbation. The model stays frozen and knows nothing else
 * about it; passing null runs the base model (the KL reference policy).
 */
public interface LinearAdapter {

    /**
     * The term to add to {@code layer}'s output for input {@code x}, or null to add nothing.
     * The result must live in x's manager and have the dtype of x.
     */
    NDArray delta(Linear layer, NDArray x);

    /**
     * The weight {@code layer} multiplies its input with: the frozen weight itself, or a
     * perturbed copy during a training step (LoRA-GGPO). A perturbed copy is a new array,
     * so the frozen weight is never written.
     */
    default NDArray weight(Linear layer) {
        return layer.weight();
    }
}
