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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
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
        int promptLen = check(prompts, params);
        int batch = prompts.size();
        int capacity = promptLen + params.maxNewTokens();
        Set<Integer> stops = stops(params);
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
        List<SequenceState> seqs = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            seqs.add(new SequenceState(params, b, stops, decoder));
        }
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
                long[] column = new long[batch];
                boolean allDone = true;
                for (int b = 0; b < batch; b++) {
                    SequenceState seq = seqs.get(b);
                    if (!seq.done()) {
                        column[b] = seq.advance(logits, b * vocab, vocab); // finished sequences get token 0
                        allDone &= seq.done();
                    }
                }
                if (allDone || to == capacity) {
                    break;
                }
                slotIds.set(new NDIndex(":, {}", to), scope.create(column));
                from = cached ? to : 0;
                to++;
            }
        }
        List<Completion> out = new ArrayList<>(batch);
        for (SequenceState seq : seqs) {
            out.add(seq.completion());
        }
        return out;
    }

    /**
     * Rejects what this generator cannot sample: empty prompts, tokens outside the
     * vocabulary, stop strings without a tokenizer, more positions than the model has.
     * Returns the longest prompt's length.
     */
    int check(List<int[]> prompts, SamplingParams params) {
        if (!params.stopStrings().isEmpty() && decoder == null) {
            throw new IllegalArgumentException("stop strings need a tokenizer, and this model has none");
        }
        int promptLen = 0;
        for (int[] p : prompts) {
            if (p.length == 0) {
                throw new IllegalArgumentException("empty prompt");
            }
            model.checkTokens(p);
            promptLen = Math.max(promptLen, p.length);
        }
        if (promptLen + params.maxNewTokens() > model.config().maxPositions()) {
            throw new IllegalArgumentException("prompt of " + promptLen + " tokens + " + params.maxNewTokens()
                    + " new tokens exceeds the model's " + model.config().maxPositions() + " positions");
        }
        return promptLen;
    }

    /** The stop tokens of a call: the model's and the request's. */
    Set<Integer> stops(SamplingParams params) {
        Set<Integer> stops = new LinkedHashSet<>(modelStopTokens);
        stops.addAll(params.stopTokenIds());
        return stops;
    }

    DecoderModel model() {
        return model;
    }

    Function<int[], String> decoder() {
        return decoder;
    }

    private static NDArray attach(NDArray a, NDManager scope) {
        a.attach(scope);
        return a;
    }
}
