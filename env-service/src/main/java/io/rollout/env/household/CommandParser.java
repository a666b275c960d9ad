package io.rollout.env.household;

import io.rollout.env.household.Command.Verb;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns an agent's text into a {@link Command}. Tolerant of how small models write
 * commands (case, surrounding quotes, a trailing period, "the", "apple1", "put X in Y"),
 * but it never guesses a different action: text it cannot read gives no command.
 */
final class CommandParser {

    private static final Pattern GO = Pattern.compile("(?:go to|goto|go|walk to|move to) (.+)");
    private static final Pattern OPEN = Pattern.compile("open (.+)");
    private static final Pattern CLOSE = Pattern.compile("close (.+)");
    private static final Pattern TAKE_FROM = Pattern.compile("(?:take|pick up|get|grab) (.+?) (?:from|off|out of) (.+)");
    private static final Pattern TAKE = Pattern.compile("(?:take|pick up|get|grab) (.+)");
    private static final Pattern PUT = Pattern.compile(
            "(?:put|place|move) (.+?) (?:in/on|in / on|into|onto|inside|in|on|to) (.+)");
    private static final Pattern TREAT_WITH = Pattern.compile("(clean|heat|cool) (.+?) (?:with|using|in|on) (.+)");
    private static final Pattern TREAT = Pattern.compile("(clean|heat|cool) (.+)");
    private static final Pattern USE = Pattern.compile("(?:use|turn on|switch on|toggle) (.+)");
    private static final Pattern INVENTORY = Pattern.compile("inventory|inv|i|check inventory");
    private static final Pattern LOOK = Pattern.compile("look|look around|l");
    private static final Pattern EXAMINE = Pattern.compile("(?:examine|inspect|x|look at) (.+)");

    private static final Pattern SPACES = Pattern.compile("\\s+");
    private static final Pattern LEADING_WRAPPER = Pattern.compile("^[\"'`*>\\s]+");
    private static final Pattern TRAILING_WRAPPER = Pattern.compile("[\"'`*\\s]+$");
    private static final Pattern TRAILING_STOP = Pattern.compile("[.!;]+$");
    private static final Pattern GLUED_NUMBER = Pattern.compile("\\b([a-z]+)(\\d+)\\b");
    private static final Pattern ARTICLE = Pattern.compile("^(?:the|a|an|some) ");

    private CommandParser() {
    }

    static Optional<Command> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String s = normalize(text);
        Matcher m;
        if ((m = GO.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.GO, name(m.group(1))));
        }
        if ((m = OPEN.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.OPEN, name(m.group(1))));
        }
        if ((m = CLOSE.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.CLOSE, name(m.group(1))));
        }
        if ((m = TAKE_FROM.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.TAKE, name(m.group(1)), name(m.group(2))));
        }
        if ((m = TAKE.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.TAKE, name(m.group(1)), null));
        }
        if ((m = PUT.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.PUT, name(m.group(1)), name(m.group(2))));
        }
        if ((m = TREAT_WITH.matcher(s)).matches()) {
            return Optional.of(Command.of(treatment(m.group(1)), name(m.group(2)), name(m.group(3))));
        }
        if ((m = TREAT.matcher(s)).matches()) {
            return Optional.of(Command.of(treatment(m.group(1)), name(m.group(2)), null));
        }
        if ((m = USE.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.USE, name(m.group(1))));
        }
        if (INVENTORY.matcher(s).matches()) {
            return Optional.of(Command.of(Verb.INVENTORY));
        }
        if (LOOK.matcher(s).matches()) {
            return Optional.of(Command.of(Verb.LOOK));
        }
        if ((m = EXAMINE.matcher(s)).matches()) {
            return Optional.of(Command.of(Verb.EXAMINE, name(m.group(1))));
        }
        return Optional.empty();
    }

    /** Lower case, single spaces, without wrapping quotes, a prompt marker or a final period. */
    static String normalize(String text) {
        String s = SPACES.matcher(text.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
        s = LEADING_WRAPPER.matcher(s).replaceAll("");
        s = TRAILING_WRAPPER.matcher(s).replaceAll("");
        s = TRAILING_STOP.matcher(s).replaceAll("").strip();
        return GLUED_NUMBER.matcher(s).replaceAll("$1 $2");
    }

    private static String name(String raw) {
        return ARTICLE.matcher(raw.strip()).replaceFirst("");
    }

    private static Verb treatment(String word) {
        return switch (word) {
            case "clean" -> Verb.CLEAN;
            case "heat" -> Verb.HEAT;
            default -> Verb.COOL;
        };
    }
}
