package io.rollout.policy.model;

import ai.djl.ndarray.NDArray;

/**
 * A frozen linear layer as Hugging Face stores it: {@code weight} is [out, in], {@code bias}
 * is [out] or null. {@code key} is the module path ({@code model.layers.3.self_attn.q_proj}),
 * which is also how LoRA adapters find the layer they adapt.
 */
public record Linear(String key, NDArray weight, NDArray bias) {

    public long inFeatures() {
        return weight.getShape().get(1);
    }

    public long outFeatures() {
        return weight.getShape().get(0);
    }

    /** {@code x W^T + b}; the result lives in x's manager. */
    public NDArray apply(NDArray x) {
        return apply(x, weight);
    }

    /** {@code x w^T + b} with {@code w} in place of this layer's weight (same shape). */
    public NDArray apply(NDArray x, NDArray w) {
        return x.getNDArrayInternal().linear(x, w, bias).singletonOrThrow();
    }
}
