package io.rollout.env.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The answer to {@code POST /v1/sessions/close}: one item per requested session, in the request's order.
 *
 * @param results as many as the request had items
 */
public record CloseSessionsAnswer(List<Item> results) {

    /**
     * One closing's outcome: {@code status} is what {@code DELETE /v1/sessions/{id}} would have
     * answered, 204 or an error status with {@code error} (the same body).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Item(String session, int status, ApiError error) {
    }
}
