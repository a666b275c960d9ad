package io.rollout.learner.scheduler;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One kind of task the scheduler draws from: an environment with its settings, the range of
 * seeds its initial states are drawn from, the group shape, and its relative weight.
 *
 * @param env        environment name, e.g. {@code sokoban}
 * @param envConfig  environment settings, the same for every episode of a group (kept sorted)
 * @param seedFrom   first seed, inclusive, {@code >= 0}
 * @param seedTo     end of the seed range, exclusive, {@code > seedFrom}
 * @param groupSize  N: episodes per group, {@code >= 1}
 * @param maxSteps   steps after which an episode is truncated, {@code >= 1}
 * @param weight     relative probability of drawing this source, positive and finite
 */
public record TaskSource(String env, Map<String, String> envConfig, long seedFrom, long seedTo, int groupSize,
        int maxSteps, double weight) {

    public TaskSource {
        if (env == null || env.isBlank()) {
            throw new IllegalArgumentException("env must not be blank");
        }
        if (envConfig == null) {
            throw new IllegalArgumentException("envConfig must not be null");
        }
        envConfig.forEach((k, v) -> {
            if (k == null || k.isBlank() || v == null) {
                throw new IllegalArgumentException("envConfig entries need a name and a value, got " + k + "=" + v);
            }
        });
        envConfig = Collections.unmodifiableMap(new TreeMap<>(envConfig));
        if (seedFrom < 0) {
            throw new IllegalArgumentException("seedFrom must be >= 0, got " + seedFrom);
        }
        if (seedTo <= seedFrom) {
            throw new IllegalArgumentException("seedTo (exclusive) must be > seedFrom " + seedFrom + ", got " + seedTo);
        }
        if (groupSize < 1) {
            throw new IllegalArgumentException("groupSize must be >= 1, got " + groupSize);
        }
        if (maxSteps < 1) {
            throw new IllegalArgumentException("maxSteps must be >= 1, got " + maxSteps);
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("weight must be positive and finite, got " + weight);
        }
    }
}
