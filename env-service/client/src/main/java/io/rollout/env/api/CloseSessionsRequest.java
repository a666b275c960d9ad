package io.rollout.env.api;

import java.util.List;

/**
 * {@code POST /v1/sessions/close}: several sessions closed in one request, each as
 * {@code DELETE /v1/sessions/{id}} would close it. Each item is answered on its own (see
 * {@link CloseSessionsAnswer}).
 *
 * @param sessions one to {@value CreateSessionsRequest#MAX_SESSIONS} session ids
 */
public record CloseSessionsRequest(List<String> sessions) {
}
