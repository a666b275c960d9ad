package io.rollout.runtime.cli;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The environment variables of a command's options. A mixin's option marked {@link FromEnv}
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
 *
 * <p>A service command takes {@link Scope#EVERY_OPTION} instead: then every option but
 * {@code --help} and {@code --version}, marked or not, its mixins' included, reads the variable of
 * that name. An option whose annotated default already reads that variable keeps it; one whose
 * default reads another variable (the shared {@code METRICS_AUTH_TOKEN_FILE}, say) reads the
 * command's own first and falls back to the other one. A multi-value option takes one value from
 * its variable, split as on the command line: a list with a {@code split} regex takes several,
 * {@code --kafka} and the like one {@code KEY=VALUE}.
 *
 * <p>The name of the variable is the one rule of docs/deploy.md: the prefix, then the option's
 * longest name without its dashes, upper case, dashes as underscores; a name that begins with the
 * prefix's own word does not repeat it ({@code --actor-id} with {@code ACTOR_} is {@code ACTOR_ID}).
 */
public abstract class EnvDefaults implements CommandLine.IModelTransformer {

    /** Which options of the command read their variable. */
    public enum Scope {
        /** Only the options marked {@link FromEnv}. */
        MARKED,
        /** Every option but the help and version flags. */
        EVERY_OPTION
    }

    private final String prefix;
    private final Scope scope;

    /** @param prefix put before the option's name, e.g. {@code ACTOR_}; only {@link FromEnv} options read it */
    protected EnvDefaults(String prefix) {
        this(prefix, Scope.MARKED);
    }

    /**
     * @param prefix put before the option's name, e.g. {@code ACTOR_}
     * @param scope which options read their variable
     */
    protected EnvDefaults(String prefix, Scope scope) {
        this.prefix = prefix;
        this.scope = scope;
    }

    /**
     * The variable of an option: {@code --kafka-config} with prefix {@code ACTOR_} is
     * {@code ACTOR_KAFKA_CONFIG}, and {@code --actor-id} is {@code ACTOR_ID}.
     */
    public String variable(OptionSpec option) {
        return variable(prefix, option.longestName());
    }

    /** The variable of the option named {@code name} under {@code prefix}, by the rule above. */
    public static String variable(String prefix, String name) {
        String bare = name.replaceFirst("^-+", "").toUpperCase(Locale.ROOT).replace('-', '_');
        if (prefix.endsWith("_") && bare.startsWith(prefix)) {
            return bare;
        }
        return prefix + bare;
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
        if (annotated != null && (annotated.startsWith("${env:" + name + "}")
                || annotated.startsWith("${env:" + name + ":-"))) {
            return option;
        }
        String other = annotated == null ? null : readVariable(annotated);
        if (annotated != null && annotated.contains("}") && other == null) {
            throw new IllegalStateException(option.longestName() + ": a default with '}' cannot follow ${env:" + name + "}");
        }
        String[] description = other == null
                ? describe(builder.description(), name)
                : fallBack(builder.description(), name, other);
        return builder.defaultValue("${env:" + name + (annotated == null ? "" : ":-" + annotated) + "}")
                .description(description)
                .build();
    }

    /**
     * The variable an annotated default reads when it is one {@code ${env:NAME}} or
     * {@code ${env:NAME:-default}} expression (picocli resolves one nested in another), else null.
     */
    static String readVariable(String annotated) {
        if (!annotated.startsWith("${env:") || !annotated.endsWith("}")) {
            return null;
        }
        String body = annotated.substring("${env:".length(), annotated.length() - 1);
        int end = body.indexOf(":-");
        String name = end < 0 ? body : body.substring(0, end);
        String rest = end < 0 ? "" : body.substring(end + 2);
        return name.matches("[A-Za-z_][A-Za-z0-9_]*") && !rest.contains("}") ? name : null;
    }

    /** The description naming {@code variable} before the {@code other} it names already. */
    static String[] fallBack(String[] description, String variable, String other) {
        String[] lines = description.clone();
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].contains("env " + other)) {
                lines[i] = lines[i].replace("env " + other, "env " + variable + ", else " + other);
                return lines;
            }
        }
        return describe(description, variable);
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

    private boolean marked(OptionSpec option) {
        if (option.usageHelp() || option.versionHelp()) {
            return false;
        }
        return scope == Scope.EVERY_OPTION
                || option.userObject() instanceof Field field && field.isAnnotationPresent(FromEnv.class);
    }
}
