package io.rollout.env.sokoban;

import java.util.Optional;

/**
 * The four Sokoban actions. Each names the word an agent writes for it, so the
 * environment can read the action out of free model text the way verl-agent's projection does.
 */
public enum Direction {
    UP("up", -1, 0),
    DOWN("down", 1, 0),
    LEFT("left", 0, -1),
    RIGHT("right", 0, 1);

    private static final Direction[] VALUES = values();

    private final String word;
    private final int dRow;
    private final int dCol;

    Direction(String word, int dRow, int dCol) {
        this.word = word;
        this.dRow = dRow;
        this.dCol = dCol;
    }

    /** The lower-case word for this action: {@code up}, {@code down}, {@code left} or {@code right}. */
    public String word() {
        return word;
    }

    public int dRow() {
        return dRow;
    }

    public int dCol() {
        return dCol;
    }

    public Direction opposite() {
        return switch (this) {
            case UP -> DOWN;
            case DOWN -> UP;
            case LEFT -> RIGHT;
            case RIGHT -> LEFT;
        };
    }

    /**
     * The action named by an agent's text: the LAST of the words {@code up}, {@code down},
     * {@code left}, {@code right} in it, matched case-insensitively as a whole word (not
     * preceded or followed by a letter, so {@code "<action>Left</action>"}, {@code "LEFT."} and
     * {@code "move_up"} count but {@code "upward"}, {@code "setup"} and {@code "bright"} do not).
     * The last one wins because models reason first ("not up, ... so: right") and answer last.
     *
     * @return the direction, or empty when the text names none (an invalid action)
     */
    public static Optional<Direction> lastMentionedIn(CharSequence text) {
        if (text == null) {
            return Optional.empty();
        }
        // Scan start positions from the end: the first match found is the last in the text.
        for (int start = text.length() - 2; start >= 0; start--) {
            for (Direction d : VALUES) {
                if (wordAt(text, start, d.word)) {
                    return Optional.of(d);
                }
            }
        }
        return Optional.empty();
    }

    private static boolean wordAt(CharSequence text, int start, String word) {
        int end = start + word.length();
        if (end > text.length()) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            // Fold to lower case char by char: the words are ASCII, so no locale or length change.
            if (Character.toLowerCase(text.charAt(start + i)) != word.charAt(i)) {
                return false;
            }
        }
        boolean letterBefore = start > 0 && Character.isLetter(text.charAt(start - 1));
        boolean letterAfter = end < text.length() && Character.isLetter(text.charAt(end));
        return !letterBefore && !letterAfter;
    }
}
