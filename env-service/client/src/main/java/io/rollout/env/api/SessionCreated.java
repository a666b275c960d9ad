package io.rollout.env.api;

import io.rollout.env.Observation;

/** The answer to a session creation: its id and the first observation. */
public record SessionCreated(String session, String env, long seed, Observation observation) {
}
