package io.rollout.env.api;

import java.util.Map;

/** {@code POST /v1/sessions/{id}/reset}: start a new episode in an existing session. */
public record ResetRequest(Long seed, Map<String, Object> config) {
}
