package io.rollout.env.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.rollout.env.StepResult;
import java.util.List;

/**
 * The answer to {@code POST /v1/steps}: one item per requested step, in the request's order.
 *
 * @param results as many as the request had items
 */
public record StepBatchAnswer(List<Item> results) {

    /**
     * One step's outcome: {@code status} is what {@code POST /v1/sessions/{id}/step} would have
     * answered, with {@code result} on 200 and {@code error} (the same body) otherwise.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Item(String session, int status, StepResult result, ApiError error) {
    }
}
