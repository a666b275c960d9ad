package io.rollout.policy.sampling;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * One sequence being sampled: its random stream, the tokens and log-probs drawn so far and
 * why it ended. Sequence {@code i} of a request draws from {@code SplittableRandom(seed + i)},
 * so what it samples does not depend on which batch it is decoded in.
 */
final class SequenceState {

    private final SamplingParams params;
    private final Set<Integer> stops;
    private final Function<int[], String> decoder;
    private final SplittableRandom random;
    private final List<Integer> tokens = new ArrayList<>();
    private final List<Float> logProbs = new ArrayList<>();
    private Completion.FinishReason finish;
    private String cutText;

    /**
     * @param index the sequence's index within its request (its seed offset)
     * @param stops token ids that end the sequence
     * @param decoder token ids to text, or null when there are no stop strings and no tokenizer
     */
    SequenceState(SamplingParams params, int index, Set<Integer> stops, Function<int[], String> decoder) {
        this.params = params;
        this.stops = stops;
        this.decoder = decoder;
        this.random = new SplittableRandom(params.seed() + index);
    }

    boolean done() {
        return finish != null;
    }

    /** Tokens drawn so far. */
    int generated() {
        return tokens.size();
    }

    /** Tokens this sequence may still draw. */
    int remaining() {
        return done() ? 0 : params.maxNewTokens() - tokens.size();
    }

    /**
     * Draws the next token from {@code logits[offset .. offset+vocab)} and checks the stops;
     * returns it. Must not be called once {@link #done()}.
     */
    int advance(float[] logits, int offset, int vocab) {
        TokenSampler.Draw d = TokenSampler.sample(logits, offset, vocab, params.temperature(), params.topP(), random);
        tokens.add(d.token());
        logProbs.add(d.logProb());
        if (stops.contains(d.token())) {
            finish = Completion.FinishReason.STOP_TOKEN;
        } else if (!params.stopStrings().isEmpty()) {
            String text = decoder.apply(ids());
            int cut = firstStop(text);
            if (cut >= 0) {
                finish = Completion.FinishReason.STOP_STRING;
                cutText = text.substring(0, cut);
            }
        }
        if (finish == null && tokens.size() == params.maxNewTokens()) {
            finish = Completion.FinishReason.LENGTH;
        }
        return d.token();
    }

    private int firstStop(String text) {
        int cut = -1;
        for (String s : params.stopStrings()) {
            int at = text.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        return cut;
    }

    Completion completion() {
        int[] ids = ids();
        float[] lp = new float[ids.length];
        for (int i = 0; i < lp.length; i++) {
            lp[i] = logProbs.get(i);
        }
        String text = cutText != null ? cutText : decoder == null ? null : decoder.apply(ids);
        return new Completion(ids, lp, text, finish);
    }

    private int[] ids() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}
