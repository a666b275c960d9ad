package io.rollout.runtime.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Other defaults for a few options of a shared mixin, on one command. A mixin declares each option
 * once, with the defaults of the command it was written for (its origin); a command that includes it
 * but needs another default for some of them names those with a subclass of this as its model
 * transformer:
 *
 * <pre>{@code
 * @Command(name = "local", modelTransformer = LocalCommand.Defaults.class)
 * final class LocalCommand {
 *     @Mixin private TrainingOptions training = new TrainingOptions();
 *
 *     static final class Defaults extends DefaultOverrides {
 *         Defaults() {
 *             super("train", new Default("--lr", "5e-4", "larger here since ..."));
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>Each named option is rebuilt with the new default, so that it is both the value the command
 * gets when the option is not given and the one {@code ${DEFAULT-VALUE}} shows in {@code --help};
 * its description then says whose default it replaces and why: {@code (default: 5e-4; train's
 * 1e-4, larger here since ...)}. Neither of picocli's other ways does both: a default value
 * provider changes the value but not the description, and a value set on the mixin's field before
 * parsing is replaced by the annotated default.
 *
 * <p>A command has one model transformer: one that also reads options from its environment
 * ({@link EnvDefaults}) cannot use this as it stands.
 */
public abstract class DefaultOverrides implements CommandLine.IModelTransformer {

    /**
     * Another default for one option.
     *
     * @param option the option's longest name, e.g. {@code --lr}
     * @param value the default this command uses instead
     * @param reason why, read after the origin's default: e.g. "larger here since ..."
     */
    public record Default(String option, String value, String reason) {}

    private final String origin;
    private final Map<String, Default> defaults = new LinkedHashMap<>();

    /**
     * @param origin the command whose defaults the mixin declares, e.g. {@code train}
     * @param defaults the options this command gives another default
     */
    protected DefaultOverrides(String origin, Default... defaults) {
        this.origin = origin;
        for (Default d : defaults) {
            if (this.defaults.put(d.option(), d) != null) {
                throw new IllegalArgumentException(d.option() + " is given another default twice");
            }
        }
    }

    /** The overridden options by name, in the order given. */
    public Map<String, Default> defaults() {
        return Collections.unmodifiableMap(defaults);
    }

    @Override
    public CommandSpec transform(CommandSpec spec) {
        for (String name : defaults.keySet()) {
            OptionSpec option = spec.findOption(name);
            if (option == null) {
                throw new IllegalStateException(spec.name() + " has no option " + name + " to give another default");
            }
            if (defaults.get(name).value().equals(option.defaultValue())) {
                throw new IllegalStateException(name + " of " + spec.name() + " defaults to "
                        + option.defaultValue() + " already");
            }
        }
        List<OptionSpec> options = new ArrayList<>(spec.options());
        int first = 0;
        while (first < options.size() && !defaults.containsKey(options.get(first).longestName())) {
            first++;
        }
        // An option spec cannot change once built: the overridden ones are rebuilt, and those after
        // the first are removed and added again so that the help keeps the declared order.
        List<OptionSpec> rest = options.subList(first, options.size());
        rest.forEach(spec::remove);
        for (OptionSpec option : rest) {
            Default d = defaults.get(option.longestName());
            spec.addOption(d == null ? option : override(option, d));
        }
        return spec;
    }

    private OptionSpec override(OptionSpec option, Default d) {
        OptionSpec.Builder builder = option.toBuilder();
        String note = origin + "'s " + option.defaultValue() + ", " + d.reason();
        return builder.defaultValue(d.value()).description(describe(builder.description(), note)).build();
    }

    /**
     * The description with {@code note} in the closing {@code (default: ...)} of its last line:
     * {@code (default: ${DEFAULT-VALUE}; note)}; without one, {@code (default: ${DEFAULT-VALUE}; note)}
     * is appended.
     */
    static String[] describe(String[] description, String note) {
        return EnvDefaults.noted(description, note, "(default: ${DEFAULT-VALUE}; " + note + ")");
    }
}
