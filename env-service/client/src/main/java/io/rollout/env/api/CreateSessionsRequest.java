package io.rollout.env.api;

import java.util.List;

/**
 * {@code POST /v1/sessions/batch}: several sessions opened in one request, each item as the body
 * of {@code POST /v1/sessions} would carry it. Each item is answered on its own (see
 * {@link CreateSessionsAnswer}).
 *
 * @param sessions one to {@value #MAX_SESSIONS} items
 */
public record CreateSessionsRequest(List<CreateSessionRequest> sessions) {

    /** Most items one request may carry, as for {@code POST /v1/steps}; more are refused whole with 400 {@code batch_too_large}. */
    public static final int MAX_SESSIONS = StepBatchRequest.MAX_STEPS;
}
