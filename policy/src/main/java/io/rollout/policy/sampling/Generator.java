package io.rollout.policy.sampling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rollout.policy.model.DecoderModel;
import io.rollout.policy.model.KvCache;
import io.rollout.policy.model.LinearAdapter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Batched sampling with a KV cache. Prompts of different lengths are left-padded into one
 * batch; the prompt is run once (prefill) and each further step feeds one token per
 * sequence, writing its keys and values into a preallocated cache. Rotary positions count
 * real tokens only, so a padded sequence gets exactly the logits it would get alone.
 *
 * <p>Every array of a call lives in a sub-manager closed before the call returns.
 */
public final class Generator {

    private final DecoderModel model;
    private final Function<int[], String> decoder;
    private final List<Integer> modelStopTokens;

    /**
     * @param decoder token ids to text (special tokens skipped), or null without a tokenizer
     *     (then stop strings are refused and completions carry no text)
     * @param modelStopTokens stop tokens every call uses (the model's eos tokens)
     */
    public Generator(DecoderModel model, Function<int[], String> decoder, List<Integer> modelStopTokens) {
        this.model = model;
        this.decoder = decoder;
        this.modelStopTokens = List.copyOf(modelStopTokens);
    }

    /** Samples one completion per prompt, with a cache. */
    public List<Completion> generate(List<int[]> prompts, SamplingParams params, LinearAdapter adapter) {
        return run(prompts, params, adapter, true);
    }

    /**
     * The same sampling without a cache: every step recomputes the whole sequence. Slow; it
     * exists to check the cached path and to measure what the cache saves.
     */
    public List<Completion> generateWithoutCache(List<int[]> prompts, SamplingParams params, LinearAdapter adapter) {
        return run(prompts, params, adapter, false);
    }

    private List<Completion> run(List<int[]> prompts, SamplingParams params, LinearAdapter adapter, boolean cached) {
        if (prompts.isEmpty()) {
            return List.of();
        }
        if (!params.stopStrings().isEmpty() && decoder == null) {
            throw new IllegalArgumentException("stop strings need a tokenizer, and this model has none");
        }
        int batch = prompts.size();
        int promptLen = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt");
            }
            model.checkTokens(p);
            promptLen = Math.max(promptLen, p.length);
        }
        int capacity = promptLen + params.maxNewTokens();
        if (capacity > model.config().maxPositions()) {
            throw new IllegalArgumentException("prompt of " + promptLen + " tokens + " + params.maxNewTokens()
                    + " new tokens exceeds the model's " + model.config().maxPositions() + " positions");
        }
        Set<Integer> stops = new LinkedHashSet<>(modelStopTokens);
        stops.addAll(params.stopTokenIds());
        int vocab = model.config().vocabSize();

        // Slot layout: [left padding | prompt | generated], the same for every step.
        long[] slots = new long[batch * capacity];
        long[] positions = new long[batch * capacity];
        float[] keyMask = new float[batch * capacity];
        for (int b = 0; b < batch; b++) {
            int pad = promptLen - prompts.get(b).length;
            for (int j = 0; j < capacity; j++) {
                int i = b * capacity + j;
                slots[i] = j < pad ? 0 : j < promptLen ? prompts.get(b)[j - pad] : 0;
                positions[i] = Math.max(0, j - pad);
                keyMask[i] = j < pad ? 0 : 1;
            }
        }
        Sequences seqs = new Sequences(batch, params);
        try (NDManager scope = model.manager().newSubManager()) {
            NDArray slotIds = scope.create(slots, new Shape(batch, capacity));
            NDArray slotPositions = scope.create(positions, new Shape(batch, capacity));
            NDArray mask = scope.create(keyMask, new Shape(batch, capacity));
            KvCache cache = cached ? model.newCache(scope, batch, capacity) : null;
            int from = 0;
            int to = promptLen;
            while (true) {
                float[] logits;
                try (NDManager step = scope.newSubManager()) {
                    NDIndex window = new NDIndex(":, {}:{}", from, to);
                    NDArray ids = attach(slotIds.get(window), step);
                    NDArray pos = attach(slotPositions.get(window), step);
                    NDArray keys = attach(mask.get(new NDIndex(":, :{}", to)), step);
                    NDArray hidden = model.hidden(ids, pos, keys, cache, adapter);
                    NDArray last = hidden.get(new NDIndex(":, -1:, :"));
                    logits = model.logits(last).toType(DataType.FLOAT32, false).toFloatArray();
                }
                int[] next = seqs.advance(logits, vocab, stops);
                if (seqs.allDone() || to == capacity) {
                    break;
                }
                long[] column = new long[batch];
                for (int b = 0; b < batch; b++) {
                    column[b] = next[b];
                }
                slotIds.set(new NDIndex(":, {}", to), scope.create(column));
                from = cached ? to : 0;
                to++;
            }
        }
        return seqs.completions();
    }

    private static NDArray attach(NDArray a, NDManager scope) {
        a.attach(scope);
        return a;
    }

    /** The per-sequence state of a batch: tokens so far, random streams, stop checks. */
    private final class Sequences {
        private final SamplingParams params;
        private final List<List<Integer>> tokens = new ArrayList<>();
        private final List<List<Float>> logProbs = new ArrayList<>();
        private final SplittableRandom[] randoms;
        private final Completion.FinishReason[] finish;
        private final String[] cutText;

        Sequences(int batch, SamplingParams params) {
            this.params = params;
            this.randoms = new SplittableRandom[batch];
            this.finish = new Completion.FinishReason[batch];
            this.cutText = new String[batch];
            for (int b = 0; b < batch; b++) {
                tokens.add(new ArrayList<>());
                logProbs.add(new ArrayList<>());
                randoms[b] = new SplittableRandom(params.seed() + b);
            }
        }

        /** Draws the next token of every unfinished sequence; finished ones get token 0. */
        int[] advance(float[] logits, int vocab, Set<Integer> stops) {
            int[] next = new int[randoms.length];
            for (int b = 0; b < randoms.length; b++) {
                if (finish[b] != null) {
                    continue;
                }
                TokenSampler.Draw d = TokenSampler.sample(logits, b * vocab, vocab, params.temperature(),
                        params.topP(), randoms[b]);
                next[b] = d.token();
                tokens.get(b).add(d.token());
                logProbs.get(b).add(d.logProb());
                if (stops.contains(d.token())) {
                    finish[b] = Completion.FinishReason.STOP_TOKEN;
                } else if (!params.stopStrings().isEmpty()) {
                    String text = decoder.apply(toArray(tokens.get(b)));
                    int cut = firstStop(text);
                    if (cut >= 0) {
                        finish[b] = Completion.FinishReason.STOP_STRING;
                        cutText[b] = text.substring(0, cut);
                    }
                }
                if (finish[b] == null && tokens.get(b).size() == params.maxNewTokens()) {
                    finish[b] = Completion.FinishReason.LENGTH;
                }
            }
            return next;
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

        boolean allDone() {
            return Arrays.stream(finish).allMatch(f -> f != null);
        }

        List<Completion> completions() {
            List<Completion> out = new ArrayList<>();
            for (int b = 0; b < randoms.length; b++) {
                int[] ids = toArray(tokens.get(b));
                float[] lp = new float[ids.length];
                for (int i = 0; i < lp.length; i++) {
                    lp[i] = logProbs.get(b).get(i);
                }
                String text = cutText[b] != null ? cutText[b] : decoder == null ? null : decoder.apply(ids);
                out.add(new Completion(ids, lp, text, finish[b]));
            }
            return out;
        }

        private int[] toArray(List<Integer> list) {
            return list.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
