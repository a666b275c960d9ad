package io.rollout.env.household;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * One parsed command: a verb and its names. Names may still be bare types ("apple") or
 * missing (null) until {@link Household#resolve} fills them from the state; only a command
 * whose {@link #canonical()} text is admissible changes the world.
 */
record Command(Verb verb, List<String> args) {

    /** What a command argument must name, used to resolve a bare type name. */
    enum Role { OBJECT, RECEPTACLE, ANY }

    /** The commands, with ALFWorld's canonical wording. */
    enum Verb {
        GO("go to %s", Role.RECEPTACLE),
        OPEN("open %s", Role.RECEPTACLE),
        CLOSE("close %s", Role.RECEPTACLE),
        TAKE("take %s from %s", Role.OBJECT, Role.RECEPTACLE),
        PUT("put %s in/on %s", Role.OBJECT, Role.RECEPTACLE),
        CLEAN("clean %s with %s", Role.OBJECT, Role.RECEPTACLE),
        HEAT("heat %s with %s", Role.OBJECT, Role.RECEPTACLE),
        COOL("cool %s with %s", Role.OBJECT, Role.RECEPTACLE),
        USE("use %s", Role.OBJECT),
        INVENTORY("inventory"),
        LOOK("look"),
        EXAMINE("examine %s", Role.ANY);

        final String template;
        final List<Role> roles;

        Verb(String template, Role... roles) {
            this.template = template;
            this.roles = List.of(roles);
        }
    }

    Command {
        Objects.requireNonNull(verb, "verb");
        if (args.size() != verb.roles.size()) {
            throw new IllegalArgumentException(verb + " takes " + verb.roles.size() + " names, got " + args);
        }
        args = Collections.unmodifiableList(new ArrayList<>(args));
    }

    static Command of(Verb verb, String... args) {
        return new Command(verb, Arrays.asList(args));
    }

    boolean complete() {
        return !args.contains(null);
    }

    /** The command as the admissible list writes it, e.g. "put apple 1 in/on fridge 1". */
    String canonical() {
        return String.format(verb.template, args.toArray());
    }
}
