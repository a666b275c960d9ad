package io.rollout.actor.prompt;

import io.rollout.env.Observation;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A short format for small models such as the tiny test model, whose word-level tokenizer
 * knows only a few hundred words: the prompt is the observation text followed by
 * {@code action:} (each history turn as {@code <observation> action: <action>}), encoded as
 * plain text. The action is the first word of the response that is an action: where the
 * environment lists admissible actions, the first position at which one of them (possibly
 * several words) begins, longest match first; where it lists none (Sokoban), the first word of
 * the configured vocabulary. Words are compared as a pre-tokenizer splits text (words and runs
 * of punctuation, so spacing around punctuation does not matter); matching ignores case and
 * returns the action as the environment or the vocabulary spells it.
 */
public final class CompactFormat implements ActionFormat {

    public static final String NAME = "compact";
    /** Sokoban's moves: the vocabulary when none is configured. */
    public static final List<String> DEFAULT_VOCABULARY = List.of("up", "down", "left", "right");

    private static final Pattern PIECE = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);

    private final List<String> vocabulary;

    public CompactFormat(List<String> vocabulary) {
        this.vocabulary = List.copyOf(vocabulary.isEmpty() ? DEFAULT_VOCABULARY : vocabulary);
        for (String word : this.vocabulary) {
            if (word.isBlank() || word.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("action vocabulary words must be single words, got \"" + word + "\"");
            }
        }
    }

    public List<String> vocabulary() {
        return vocabulary;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean chat() {
        return false;
    }

    @Override
    public String render(Observation current, List<Turn> history) {
        StringBuilder sb = new StringBuilder();
        for (Turn turn : history) {
            sb.append(turn.observation()).append("\naction: ").append(turn.action()).append('\n');
        }
        return sb.append(current.text()).append("\naction:").toString();
    }

    @Override
    public Optional<String> parse(String response, Observation current) {
        String[] words = words(response);
        List<String> candidates = current.admissibleActions().isEmpty() ? vocabulary : current.admissibleActions();
        List<String[]> split = new ArrayList<>();
        for (String c : candidates) {
            split.add(words(c));
        }
        for (int i = 0; i < words.length; i++) {
            String best = null;
            int bestLength = 0;
            for (int c = 0; c < candidates.size(); c++) {
                String[] action = split.get(c);
                if (action.length > bestLength && startsAt(words, i, action)) {
                    best = candidates.get(c);
                    bestLength = action.length;
                }
            }
            if (best != null) {
                return Optional.of(best);
            }
        }
        return Optional.empty();
    }

    /**
     * Words and runs of punctuation, as a pre-tokenizer splits them: {@code in/on} is three
     * pieces, so an answer matches whether a tokenizer decodes it with spaces around the slash
     * (the tiny model's word-level one does) or without.
     */
    private static String[] words(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = PIECE.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out.toArray(String[]::new);
    }

    private static boolean startsAt(String[] words, int at, String[] action) {
        if (at + action.length > words.length || action[0].isEmpty()) {
            return false;
        }
        for (int k = 0; k < action.length; k++) {
            if (!words[at + k].toLowerCase(Locale.ROOT).equals(action[k].toLowerCase(Locale.ROOT))) {
                return false;
            }
        }
        return true;
    }

    /** The action after one space, as it follows {@code action:}. */
    @Override
    public String answer(String action) {
        return " " + action;
    }

    @Override
    public int defaultMaxNewTokens() {
        return 8;
    }

    @Override
    public int defaultHistory() {
        return 0;
    }
}
