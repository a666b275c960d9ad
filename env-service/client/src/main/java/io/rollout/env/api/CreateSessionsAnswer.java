package io.rollout.env.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The answer to {@code POST /v1/sessions/batch}: one item per requested session, in the request's order.
 *
 * @param results as many as the request had items
 */
public record CreateSessionsAnswer(List<Item> results) {

    /**
     * One creation's outcome: {@code status} is what {@code POST /v1/sessions} would have answered,
     * with {@code result} on 201 and {@code error} (the same body) otherwise.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Item(int status, SessionCreated result, ApiError error) {
    }
}
