package io.rollout.policy.scoring;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rollout.policy.model.DecoderModel;
import io.rollout.policy.model.LinearAdapter;
import io.rollout.policy.model.Scalars;
import java.util.List;

/**
 * The training forward: log-probs and entropies of response tokens given their prompts.
 *
 * <p>Layout: prompts left-padded to the longest prompt P, responses right-padded to the
 * longest response R, so every response starts at slot P and the logits that score it are
 * the contiguous slots P-1 .. P+R-2 for the whole batch; the LM head runs on those slots
 * only. Positions count real tokens, as in generation, so a token scored here sees exactly
 * what it saw when it was sampled.
 */
public final class ResponseScorer {

    private final DecoderModel model;

    public ResponseScorer(DecoderModel model) {
        this.model = model;
    }

    /**
     * Scores {@code responses[i]} after {@code prompts[i]} under {@code softmax(logits /
     * temperature)} (the distribution generation records log-probs from).
     *
     * @param scope the manager the result and every intermediate array go to; close it after
     *     the backward pass
     * @param adapter the adapter to train or evaluate, or null for the base (reference) model
     */
    public ResponseScores score(NDManager scope, List<int[]> prompts, List<int[]> responses, double temperature,
            LinearAdapter adapter) {
        if (prompts.size() != responses.size() || prompts.isEmpty()) {
            throw new IllegalArgumentException("need one response per prompt and at least one of each, got "
                    + prompts.size() + " prompts and " + responses.size() + " responses");
        }
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0 for scoring, got " + temperature);
        }
        int batch = prompts.size();
        int p = 0;
        int r = 0;
        for (int i = 0; i < batch; i++) {
            if (prompts.get(i).length == 0 || responses.get(i).length == 0) {
                throw new IllegalArgumentException("sequence " + i + " has an empty prompt or response");
            }
            model.checkTokens(prompts.get(i));
            model.checkTokens(responses.get(i));
            p = Math.max(p, prompts.get(i).length);
            r = Math.max(r, responses.get(i).length);
        }
        if (p + r > model.config().maxPositions()) {
            throw new IllegalArgumentException("prompt + response of " + (p + r) + " slots exceeds the model's "
                    + model.config().maxPositions() + " positions");
        }
        int t = p + r - 1; // the last response token is a target only
        long[] ids = new long[batch * t];
        long[] positions = new long[batch * t];
        float[] keyMask = new float[batch * t];
        long[] targets = new long[batch * r];
        float[] targetMask = new float[batch * r];
        for (int b = 0; b < batch; b++) {
            int[] prompt = prompts.get(b);
            int[] response = responses.get(b);
            int pad = p - prompt.length;
            for (int j = 0; j < t; j++) {
                int i = b * t + j;
                boolean inPrompt = j >= pad && j < p;
                boolean inResponse = j >= p && j - p < response.length;
                ids[i] = inPrompt ? prompt[j - pad] : inResponse ? response[j - p] : 0;
                positions[i] = Math.max(0, j - pad);
                keyMask[i] = inPrompt || inResponse ? 1 : 0;
            }
            for (int k = 0; k < r; k++) {
                targets[b * r + k] = k < response.length ? response[k] : 0;
                targetMask[b * r + k] = k < response.length ? 1 : 0;
            }
        }
        NDArray hidden = model.hidden(scope.create(ids, new Shape(batch, t)), scope.create(positions, new Shape(batch, t)),
                scope.create(keyMask, new Shape(batch, t)), null, adapter);
        NDArray scored = hidden.get(new NDIndex(":, {}:{}, :", p - 1, p - 1 + r));
        NDArray logits = upcast(model.logits(scored), scope);
        NDArray logp = logits.div(Scalars.of(logits, temperature)).logSoftmax(-1);
        NDArray targetIds = scope.create(targets, new Shape(batch, r, 1));
        NDArray tokenLogProbs = logp.gather(targetIds, -1).squeeze(-1);
        NDArray entropies = logp.exp().mul(logp).sum(new int[] {-1}).neg();
        NDArray mask = scope.create(targetMask, new Shape(batch, r));
        return new ResponseScores(tokenLogProbs.mul(mask), entropies.mul(mask), mask);
    }

    /**
     * Half-precision logits to float32 for the softmax, by type promotion: unlike a dtype
     * conversion, adding a float32 zero keeps the gradient.
     */
    private static NDArray upcast(NDArray logits, NDManager scope) {
        DataType type = logits.getDataType();
        if (type == DataType.FLOAT32 || type == DataType.FLOAT64) {
            return logits;
        }
        return logits.add(scope.zeros(new Shape(1), DataType.FLOAT32));
    }
}
