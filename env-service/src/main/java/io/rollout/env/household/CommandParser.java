package io.rollout.env.household;

import io.rollout.env.household.Command.Verb;
import java.util.Locale;
import java.util.Optional;
import java.util.function.IntPredicate;
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

    private static final Pattern ARTICLE = Pattern.compile("^(?:the|a|an|some) ");

    private CommandParser() {
    }

    static Optional<Command> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String s = normalize(text);
        // Each pattern needs the text after its verb to be '.' characters, which exclude line
        // terminators. Without any, each (.+) runs to the end at its first try, so every match
        // is linear; with one, nothing can match, and trying backtracks quadratically
        // ("take a from a from ... " and a final U+0085).
        if (hasLineTerminator(s)) {
            return Optional.empty();
        }
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

    /**
     * Lower case, single spaces, without wrapping quotes, a prompt marker or a final period,
     * and with a number glued to its word split off ("apple1" to "apple 1").
     *
     * <p>Each step is one scan over the text. The regexes this replaces gave the same text but
     * took time quadratic in its length on hostile input ({@code [.!;]+$} retried from every
     * start of a long run of dots followed by a letter; a word boundary looked back over a whole
     * run of combining marks at every position): seconds for one 60k-character action. The
     * results are the regexes' own, character for character; CommandParserTest compares the two.
     */
    static String normalize(String text) {
        String s = collapseSpaces(text.toLowerCase(Locale.ROOT)).strip();
        s = s.substring(leadingRunEnd(s, CommandParser::isLeadingWrapper));
        s = dropTrailingRun(s, CommandParser::isTrailingWrapper);
        s = dropTrailingRun(s, CommandParser::isStop).strip();
        return splitGluedNumbers(s);
    }

    /** The characters of the regex class {@code \s}: ASCII white space only. */
    private static boolean isSpace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }

    private static boolean isLeadingWrapper(int c) {
        return c == '"' || c == '\'' || c == '`' || c == '*' || c == '>' || isSpace(c);
    }

    private static boolean isTrailingWrapper(int c) {
        return c == '"' || c == '\'' || c == '`' || c == '*' || isSpace(c);
    }

    private static boolean isStop(int c) {
        return c == '.' || c == '!' || c == ';';
    }

    /** The characters regex {@code .} does not match. */
    private static boolean isLineTerminator(int c) {
        return c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029';
    }

    private static boolean hasLineTerminator(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (isLineTerminator(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /** Every run of {@link #isSpace} characters replaced by one space. */
    private static String collapseSpaces(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean inRun = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!isSpace(c)) {
                out.append(c);
                inRun = false;
            } else if (!inRun) {
                out.append(' ');
                inRun = true;
            }
        }
        return out.toString();
    }

    private static int leadingRunEnd(String s, IntPredicate inRun) {
        int end = 0;
        while (end < s.length() && inRun.test(s.charAt(end))) {
            end++;
        }
        return end;
    }

    /**
     * {@code s} without the run of {@code inRun} characters that ends where regex {@code $}
     * matches, as {@code replaceAll("[...]+$", "")} cuts it: {@code $} matches at the end and
     * before a final line terminator ("\r\n" counting as one), and the leftmost run is cut.
     */
    private static String dropTrailingRun(String s, IntPredicate inRun) {
        int len = s.length();
        char last = len > 0 ? s.charAt(len - 1) : 0;
        boolean crlf = len >= 2 && last == '\n' && s.charAt(len - 2) == '\r';
        int[] dollars = {len, len > 0 && isLineTerminator(last) && !crlf ? len - 1 : -1, crlf ? len - 2 : -1};
        int cutFrom = -1;
        int cutTo = -1;
        for (int end : dollars) { // longest first, so an equal start keeps the longer cut
            int start = end;
            while (start > 0 && inRun.test(s.charAt(start - 1))) {
                start--;
            }
            if (start < end && (cutFrom < 0 || start < cutFrom)) {
                cutFrom = start;
                cutTo = end;
            }
        }
        return cutFrom < 0 ? s : s.substring(0, cutFrom) + s.substring(cutTo);
    }

    /**
     * {@code s} with a space between the ASCII letters and the ASCII digits of every word made
     * of just those, as {@code replaceAll("\\b([a-z]+)(\\d+)\\b", "$1 $2")} puts it. Words are
     * as regex {@code \b} sees them: letters, digits, '_', and non-spacing marks whose run
     * follows a letter or digit.
     */
    private static String splitGluedNumbers(String s) {
        int n = s.length();
        // afterBase[x]: java.util.regex's hasBaseCharacter at x, for every x in one pass.
        boolean[] afterBase = new boolean[n];
        for (int x = 0; x < n; x++) {
            int cp = s.codePointAt(x);
            afterBase[x] = Character.isLetterOrDigit(cp)
                    || Character.getType(cp) == Character.NON_SPACING_MARK && x > 0 && afterBase[x - 1];
        }
        StringBuilder out = new StringBuilder(n + 8);
        int copied = 0;
        int i = 0;
        while (i < n) {
            if (!isAsciiLetter(s.charAt(i)) || wordCharBefore(s, i, afterBase)) {
                i++;
                continue;
            }
            int digits = i;
            while (digits < n && isAsciiLetter(s.charAt(digits))) {
                digits++;
            }
            int end = digits;
            while (end < n && s.charAt(end) >= '0' && s.charAt(end) <= '9') {
                end++;
            }
            if (end > digits && (end == n || !wordCharAt(s, end, afterBase))) {
                out.append(s, copied, digits).append(' ').append(s, digits, end);
                copied = end;
            }
            // No word starts inside the letters or digits just read.
            i = end;
        }
        return copied == 0 ? s : out.append(s, copied, n).toString();
    }

    private static boolean isAsciiLetter(char c) {
        return c >= 'a' && c <= 'z';
    }

    private static boolean isWordChar(int cp) {
        return cp == '_' || Character.isLetterOrDigit(cp);
    }

    private static boolean wordCharAt(String s, int i, boolean[] afterBase) {
        int cp = s.codePointAt(i);
        return isWordChar(cp) || Character.getType(cp) == Character.NON_SPACING_MARK && afterBase[i];
    }

    private static boolean wordCharBefore(String s, int i, boolean[] afterBase) {
        if (i == 0) {
            return false;
        }
        int cp = s.codePointBefore(i);
        return isWordChar(cp) || Character.getType(cp) == Character.NON_SPACING_MARK && afterBase[i - 1];
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
