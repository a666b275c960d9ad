package io.rollout.policy.sampling;

import java.util.List;
import java.util.Objects;

/**
 * One caller's share of a merged generation call ({@link Generator#generate(List,
 * io.rollout.policy.model.LinearAdapter)}): its prompts and how to sample them. Sequence i of
 * the request samples from {@code SplittableRandom(params.seed() + i)}, as it would alone.
 *
 * @param prompts one completion is sampled per prompt, in order
 * @param params the request's own temperature, top-p, length bound, stops and seed
 */
public record GenerationRequest(List<int[]> prompts, SamplingParams params) {

    public GenerationRequest {
        prompts = List.copyOf(prompts);
        Objects.requireNonNull(params, "params");
    }
}
