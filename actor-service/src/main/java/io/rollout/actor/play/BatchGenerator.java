package io.rollout.actor.play;

import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.sampling.SamplingParams;
import java.util.List;

/**
 * One batched sampling call, one completion per prompt in order: {@code policy::generate}.
 * A seam so a caller can wrap it (to count or time calls) without another model.
 */
@FunctionalInterface
public interface BatchGenerator {

    List<Completion> generate(List<int[]> prompts, SamplingParams params, LoraAdapter adapter);
}
