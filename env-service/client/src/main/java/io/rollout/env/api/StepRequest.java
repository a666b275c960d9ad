package io.rollout.env.api;

/** {@code POST /v1/sessions/{id}/step}: the agent's action text. */
public record StepRequest(String action) {
}
