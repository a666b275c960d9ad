package io.rollout.runtime.cli;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The environment variables of a command's shared options. A mixin's option marked {@link FromEnv}
 * cannot name a variable itself, since each service has its own ({@code ACTOR_BOOTSTRAP},
 * {@code TRAIN_BOOTSTRAP}, ...); a command names its prefix with a subclass of this as its model
 * transformer:
 *
 * <pre>{@code
 * @Command(name = "run", modelTransformer = RunCommand.Env.class)
 * final class RunCommand {
 *     @Mixin private KafkaOptions kafka = new KafkaOptions();
 *
 *     static final class Env extends EnvDefaults {
 *         Env() {
 *             super("ACTOR_");
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Each marked option then behaves as if it were declared with
 * {@code defaultValue = "${env:ACTOR_KAFKA_CONFIG:-<its own default>}"}: the prefix followed by the
 * option's name in upper snake case, the annotated default when the variable is unset (an empty
 * variable gives an empty value, as picocli's {@code ${env:...}} does). Its description names the
 * variable, in the {@code (default: x; env NAME)} or {@code (env NAME)} form the services' other
 * options use, so {@code --help} tells it.
 */
public abstract class EnvDefaults implements CommandLine.IModelTransformer {

    private final String prefix;

    /** @param prefix put before the option's name, e.g. {@code ACTOR_} */
    protected EnvDefaults(String prefix) {
        this.prefix = prefix;
    }

    /** The variable of an option: {@code --kafka-config} with prefix {@code ACTOR_} is {@code ACTOR_KAFKA_CONFIG}. */
    public String variable(OptionSpec option) {
        return prefix + option.longestName().replaceFirst("^-+", "").toUpperCase(Locale.ROOT).replace('-', '_');
    }

    @Override
    public CommandSpec transform(CommandSpec spec) {
        List<OptionSpec> options = new ArrayList<>(spec.options());
        int first = 0;
        while (first < options.size() && !marked(options.get(first))) {
            first++;
        }
        // An option spec cannot change once built: the marked ones are rebuilt, and those after the
        // first are removed and added again so that the help keeps the declared order.
        List<OptionSpec> rest = options.subList(first, options.size());
        rest.forEach(spec::remove);
        for (OptionSpec option : rest) {
            spec.addOption(marked(option) ? fromEnv(option) : option);
        }
        return spec;
    }

    private OptionSpec fromEnv(OptionSpec option) {
        String name = variable(option);
        OptionSpec.Builder builder = option.toBuilder();
        String annotated = builder.defaultValue();
        if (annotated != null && annotated.contains("}")) {
            throw new IllegalStateException(option.longestName() + ": a default with '}' cannot follow ${env:" + name + "}");
        }
        return builder.defaultValue("${env:" + name + (annotated == null ? "" : ":-" + annotated) + "}")
                .description(describe(builder.description(), name))
                .build();
    }

    /** The description with the variable in its last line: in a closing {@code (default: ...)}, else appended. */
    static String[] describe(String[] description, String variable) {
        return noted(description, "env " + variable, "(env " + variable + ")");
    }

    /**
     * The description with {@code note} added to the closing {@code (default: ...)} of its last
     * line, as {@code (default: ...; note)}; a last line without one gets {@code otherwise}
     * appended instead. A final period stays last.
     */
    static String[] noted(String[] description, String note, String otherwise) {
        String[] lines = description.length == 0 ? new String[] {""} : description.clone();
        int last = lines.length - 1;
        String line = lines[last];
        boolean period = line.endsWith(".");
        String text = period ? line.substring(0, line.length() - 1) : line;
        int open = text.lastIndexOf("(default: ");
        if (open >= 0 && text.endsWith(")") && text.indexOf(')', open) == text.length() - 1) {
            text = text.substring(0, text.length() - 1) + "; " + note + ")";
        } else {
            text = (text.isEmpty() ? "" : text + " ") + otherwise;
        }
        lines[last] = text + (period ? "." : "");
        return lines;
    }

    private static boolean marked(OptionSpec option) {
        return option.userObject() instanceof Field field && field.isAnnotationPresent(FromEnv.class);
    }
}
