package io.rollout.policy.text.jinja;

import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * A Jinja2 template in the dialect Hugging Face renders chat templates with
 * ({@code trim_blocks}, {@code lstrip_blocks}, loop controls, an immutable sandbox,
 * {@code raise_exception}, {@code strftime_now} and a {@code tojson} that does not escape
 * HTML), so a model is prompted exactly as its authors' {@code chat_template} says. Parsed
 * once, rendered any number of times; thread-safe.
 *
 * <p>Values passed in may be {@code Map}, {@code List}, {@code String}, {@code Number},
 * {@code Boolean} or null; a missing variable is Jinja's default undefined.
 */
public final class Template {

    private final List<Node> body;

    private Template(List<Node> body) {
        this.body = body;
    }

    /** Parses {@code source}; a syntax error, unknown tag, filter or test fails here, naming its line. */
    public static Template parse(String source) {
        return new Template(Parser.parse(source));
    }

    /** Renders with the system clock for {@code strftime_now}. */
    public String render(Map<String, ?> variables) {
        return render(variables, Clock.systemDefaultZone());
    }

    /**
     * Renders with {@code variables}; {@code strftime_now} reads {@code clock} (in its zone), so a
     * test can fix the date a template prints.
     *
     * @throws TemplateException naming the line of what failed, or carrying the message of the
     *     template's own {@code raise_exception}
     */
    public String render(Map<String, ?> variables, Clock clock) {
        Scope root = new Scope(null, new Scope.Render(Builtins.globals(clock)));
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            root.set(e.getKey(), e.getValue());
        }
        StringBuilder out = new StringBuilder();
        try {
            Node.renderAll(body, root, out);
        } catch (Node.LoopSignal e) {
            throw new IllegalStateException("loop control escaped its loop", e);
        }
        return out.toString();
    }
}
