package io.rollout.env.api;

/**
 * The body of every error answer.
 *
 * @param error   a stable lower-case kind, e.g. {@code unknown_session}, {@code seed_out_of_range}
 * @param message what was wrong, for a person
 */
public record ApiError(String error, String message) {
}
