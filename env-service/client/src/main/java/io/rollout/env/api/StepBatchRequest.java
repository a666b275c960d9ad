package io.rollout.env.api;

import java.util.List;

/**
 * {@code POST /v1/steps}: one action for each of several sessions, applied in one request.
 * Each item is answered on its own (see {@link StepBatchAnswer}); a session may appear once.
 *
 * @param steps one to {@value #MAX_STEPS} items
 */
public record StepBatchRequest(List<Item> steps) {

    /** Most items one batch may carry; more are refused whole with 400 {@code batch_too_large}. */
    public static final int MAX_STEPS = 256;

    /** The action for one session, as the body of {@code POST /v1/sessions/{id}/step} would carry it. */
    public record Item(String session, String action) {
    }
}
