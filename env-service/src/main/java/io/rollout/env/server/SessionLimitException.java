package io.rollout.env.server;

/** The service holds as many sessions as it may; answered with 429. */
final class SessionLimitException extends RuntimeException {

    SessionLimitException(int limit) {
        super("the service holds its limit of " + limit + " sessions; close idle ones or retry later");
    }
}
