package io.rollout.learner.scheduler;

/**
 * What {@link TaskDistribution#draw} picked for one group: its source and the seed of its
 * initial state (inside the source's seed range).
 */
public record TaskDraw(TaskSource source, long seed) {
}
