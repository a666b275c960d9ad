package io.rollout.policy.text.jinja;

/**
 * A template that cannot be parsed or rendered. The message starts with the template line
 * ({@code line 12: unknown filter 'foo'}) so a broken chat template can be found in its file;
 * {@code raise_exception(msg)} surfaces here too, with the template's own message.
 */
public final class TemplateException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int line;
    private final String detail;

    public TemplateException(int line, String detail) {
        super("line " + line + ": " + detail);
        this.line = line;
        this.detail = detail;
    }

    /** The 1-based template line the error comes from. */
    public int line() {
        return line;
    }

    /** The message without the line prefix. */
    public String detail() {
        return detail;
    }
}
