package io.rollout.policy.text.jinja;

/**
 * A runtime failure without a line yet (a type error, an undefined value used); the
 * expression that evaluates it turns it into a {@link TemplateException} with its line.
 */
final class JinjaError extends RuntimeException {

    private static final long serialVersionUID = 1L;

    JinjaError(String message) {
        super(message, null, false, false);
    }
}
