package io.rollout.env.api;

import java.util.Map;

/**
 * {@code POST /v1/sessions}: start an episode of {@code env} from {@code seed}.
 *
 * @param config environment settings; JSON strings, numbers and booleans are all read as text
 */
public record CreateSessionRequest(String env, Long seed, Map<String, Object> config) {
}
