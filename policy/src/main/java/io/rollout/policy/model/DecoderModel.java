package io.rollout.policy.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder-only transformer of the Llama / Qwen2 family with frozen weights: token
 * embedding, per layer RMSNorm, rotary grouped-query attention and a SwiGLU MLP, a final
 * norm and the LM head. It follows Hugging Face's modelling code (eager attention) so a
 * checkpoint gives the same logits here as there.
 *
 * <p>Every array a forward pass creates lives in the manager of the ids passed in, so a
 * caller that scopes its inputs with a sub-manager frees everything the pass made.
 * Instances are immutable and safe to share between threads.
 *
 * <p>The whole pass runs in the compute dtype. Hugging Face upcasts RMSNorm and the
 * attention softmax to float32; DJL's dtype conversion is not differentiable, so doing the
 * same would cut the gradient. In float32 (CPU) that changes nothing; in bfloat16/float16
 * the difference is at the precision of those types, and generation and training still
 * compute exactly the same numbers, which is what importance ratios need.
 */
public final class DecoderModel implements AutoCloseable {

    /**
     * Added to attention scores of masked keys; finite so that a fully masked row (a padding
     * query) stays finite instead of turning into NaN that would leak through 0 * NaN.
     */
    private static float maskedScore(DataType dtype) {
        return dtype == DataType.FLOAT16 ? -3e4f : -1e30f;
    }

    private final ModelConfig config;
    private final NDManager manager;
    private final DataType dtype;
    private final NDArray embed;
    private final List<DecoderLayer> layers;
    private final NDArray finalNorm;
    private final Linear lmHead;
    private final float[] invFreq;
    /** rotate_half as a matrix: x R = [-x2, x1]; one matmul instead of four slicing calls. */
    private final NDArray rotateHalf;
    /**
     * cos and sin of the rotary angles of positions 0 .. rows-1, [rows, headDim] in the compute
     * dtype, computed once with the same operations a pass used to run; a pass gathers its
     * rows by position (one embedding lookup per table).
     */
    private final NDArray cosTable;
    private final NDArray sinTable;
    /**
     * Scalar operands owned by the model, so a pass does not create (and free) one per use:
     * RMSNorm's epsilon, the attention scale 1/sqrt(headDim), 1 and the masked score. Each is
     * a 0-dimensional float32 array as {@code add(Number)} would have made; results of ops on
     * them land in the other operand's manager, because the model's arrays are always the
     * second operand.
     */
    private final NDArray eps;
    private final NDArray attentionScale;
    private final NDArray one;
    private final NDArray negMaskedScore;
    private final Map<String, Linear> linears;

    DecoderModel(ModelConfig config, NDManager manager, DataType dtype, NDArray embed,
            List<DecoderLayer> layers, NDArray finalNorm, NDArray lmHeadWeight) {
        this.config = config;
        this.manager = manager;
        this.dtype = dtype;
        this.embed = embed;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = new Linear("lm_head", lmHeadWeight == null ? embed : lmHeadWeight, null);
        this.invFreq = RotaryFrequencies.inverseFrequencies(config);
        this.rotateHalf = rotateHalfMatrix(manager, config.headDim(), dtype);
        NDArray[] tables = rotaryTables(manager, invFreq, Math.min(config.maxPositions(), MAX_TABLE_ROWS), dtype);
        this.cosTable = tables[0];
        this.sinTable = tables[1];
        this.eps = manager.create((float) config.rmsNormEps());
        this.attentionScale = manager.create((float) (1.0 / Math.sqrt(config.headDim())));
        this.one = manager.create(1f);
        this.negMaskedScore = manager.create(-maskedScore(dtype));
        Map<String, Linear> byKey = new LinkedHashMap<>();
        for (DecoderLayer l : layers) {
            for (Linear lin : List.of(l.q(), l.k(), l.v(), l.o(), l.gate(), l.up(), l.down())) {
                byKey.put(lin.key(), lin);
            }
        }
        this.linears = Collections.unmodifiableMap(byKey);
    }

    /**
     * Rows of the rotary tables at most: 16 MiB for both tables at headDim 128 in float32.
     * Passes that may see later positions (more key slots than rows) compute their angles.
     */
    static final int MAX_TABLE_ROWS = 16384;

    public ModelConfig config() {
        return config;
    }

    /** The manager that owns the weights; its device is the model's device. */
    public NDManager manager() {
        return manager;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The compute dtype of the weights and activations (float32 on CPU). */
    public DataType dtype() {
        return dtype;
    }

    /** Every linear layer a LoRA adapter can target, by module path, in layer order. */
    public Map<String, Linear> linears() {
        return linears;
    }

    /**
     * Every weight of the model by its Hugging Face tensor name, in checkpoint order: what a
     * full-parameter trainer updates in place and what {@code model.safetensors} holds. The
     * arrays are the model's own; changing them changes the model.
     */
    public Map<String, NDArray> namedWeights() {
        Map<String, NDArray> w = new LinkedHashMap<>();
        w.put("model.embed_tokens.weight", embed);
        for (int i = 0; i < layers.size(); i++) {
            DecoderLayer l = layers.get(i);
            String p = "model.layers." + i + ".";
            w.put(p + "input_layernorm.weight", l.inputNorm());
            for (Linear lin : List.of(l.q(), l.k(), l.v(), l.o())) {
                putLinear(w, lin);
            }
            w.put(p + "post_attention_layernorm.weight", l.postAttentionNorm());
            for (Linear lin : List.of(l.gate(), l.up(), l.down())) {
                putLinear(w, lin);
            }
        }
        w.put("model.norm.weight", finalNorm);
        if (lmHead.weight() != embed) {
            w.put("lm_head.weight", lmHead.weight());
        }
        return w;
    }

    private static void putLinear(Map<String, NDArray> w, Linear lin) {
        w.put(lin.key() + ".weight", lin.weight());
        if (lin.bias() != null) {
            w.put(lin.key() + ".bias", lin.bias());
        }
    }

    /** A KV cache for {@code batch} sequences of at most {@code capacity} tokens. */
    public KvCache newCache(NDManager scope, int batch, int capacity) {
        return new KvCache(scope, config, batch, capacity, dtype);
    }

    /**
     * The final hidden states (after the last norm) for {@code ids}.
     *
     * @param ids [B, T] token ids (int64)
     * @param positions [B, T] rotary positions (int64), counting real tokens only
     * @param keyMask [B, S] 1 for key slots holding real tokens, 0 for padding, where
     *     S = cached slots + T
     * @param cache the cache to read earlier slots from and append these T to, or null
     * @param adapter LoRA (or other) terms to add to the linear layers, or null for the base
     * @return [B, T, hidden]
     */
    public NDArray hidden(NDArray ids, NDArray positions, NDArray keyMask, KvCache cache, LinearAdapter adapter) {
        NDManager scope = ids.getManager();
        long batch = ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        int past = cache == null ? 0 : cache.length();
        long keys = keyMask.getShape().get(1);
        if (keys != past + t) {
            throw new IllegalArgumentException("key mask covers " + keys + " slots, expected " + (past + t));
        }
        NDArray h = ids.getNDArrayInternal().embedding(ids, embed, SparseFormat.DENSE).singletonOrThrow();
        // Positions count real tokens only, so each is below the number of key slots.
        NDArray[] rope = keys <= cosTable.getShape().get(0) ? gatherRotary(positions) : rotary(positions);
        rope = withQueryRotary(rope);
        NDArray bias = attentionBias(scope, keyMask, past, t);
        for (int i = 0; i < layers.size(); i++) {
            DecoderLayer layer = layers.get(i);
            NDArray attn = attention(i, layer, rmsNorm(h, layer.inputNorm()), rope, bias, cache, adapter, batch, t);
            h = h.add(attn);
            h = h.add(mlp(layer, rmsNorm(h, layer.postAttentionNorm()), adapter));
        }
        if (cache != null) {
            cache.advance(t);
        }
        return rmsNorm(h, finalNorm);
    }

    /**
     * The next-token logits at every position of one unpadded sequence, without a cache:
     * row i is the distribution of the token after {@code tokens[i]}.
     */
    public float[][] positionLogits(int[] tokens, LinearAdapter adapter) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("no tokens");
        }
        checkTokens(tokens);
        try (NDManager scope = manager.newSubManager()) {
            int t = tokens.length;
            long[] ids = new long[t];
            long[] pos = new long[t];
            for (int i = 0; i < t; i++) {
                ids[i] = tokens[i];
                pos[i] = i;
            }
            NDArray hidden = hidden(scope.create(ids, new Shape(1, t)), scope.create(pos, new Shape(1, t)),
                    scope.ones(new Shape(1, t), DataType.FLOAT32), null, adapter);
            float[] flat = logits(hidden).toType(DataType.FLOAT32, false).toFloatArray();
            int v = config.vocabSize();
            float[][] rows = new float[t][];
            for (int i = 0; i < t; i++) {
                rows[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
            }
            return rows;
        }
    }

    /** Rejects token ids outside the vocabulary (the embedding lookup would fail natively). */
    public void checkTokens(int[] tokens) {
        for (int id : tokens) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
    }

    /** LM-head logits [.., vocab] of hidden states [.., hidden]. */
    public NDArray logits(NDArray hidden) {
        return lmHead.apply(hidden);
    }

    private NDArray attention(int index, DecoderLayer layer, NDArray x, NDArray[] rope, NDArray bias,
            KvCache cache, LinearAdapter adapter, long batch, int t) {
        int heads = config.numHeads();
        int kvHeads = config.numKvHeads();
        int hd = config.headDim();
        int groups = config.kvGroups();
        // Project and split heads: [B, T, heads*hd] -> [B, heads, T, hd]. Grouped-query
        // attention reads kv head j from query heads j*groups .. j*groups+groups-1, so the
        // queries are viewed as [B, kvHeads, groups, T, hd] and the keys broadcast over groups.
        // With one token (a decode step) [B, 1, heads, hd] and [B, heads, 1, hd] are the same
        // memory, so a reshape does what reshape + transpose does.
        NDArray q;
        NDArray k;
        NDArray v;
        if (t == 1) {
            q = project(layer.q(), x, adapter).reshape(batch, kvHeads, groups, 1, hd);
            k = project(layer.k(), x, adapter).reshape(batch, kvHeads, 1, hd);
            v = project(layer.v(), x, adapter).reshape(batch, kvHeads, 1, hd);
        } else {
            q = project(layer.q(), x, adapter).reshape(batch, t, heads, hd).transpose(0, 2, 1, 3)
                    .reshape(batch, kvHeads, groups, t, hd);
            k = project(layer.k(), x, adapter).reshape(batch, t, kvHeads, hd).transpose(0, 2, 1, 3);
            v = project(layer.v(), x, adapter).reshape(batch, t, kvHeads, hd).transpose(0, 2, 1, 3);
        }
        // The query's tables carry the attention scale 1/sqrt(hd), so the scores need no
        // multiplication of their own (q*s).k equals (q.k)*s up to float rounding.
        q = applyRotary(q, rope[2], rope[3]);
        k = applyRotary(k, rope[0], rope[1]);
        if (cache != null) {
            NDArray[] all = cache.append(index, k, v, q.getManager());
            k = all[0];
            v = all[1];
        }
        NDArray k5 = k.expandDims(2).transpose(0, 1, 2, 4, 3);
        NDArray probs = q.matMul(k5).add(bias).softmax(-1);
        NDArray out = probs.matMul(v.expandDims(2));
        out = t == 1
                ? out.reshape(batch, 1, (long) heads * hd)
                : out.reshape(batch, heads, t, hd).transpose(0, 2, 1, 3).reshape(batch, t, (long) heads * hd);
        return project(layer.o(), out, adapter);
    }

    private NDArray mlp(DecoderLayer layer, NDArray x, LinearAdapter adapter) {
        NDArray gate = project(layer.gate(), x, adapter);
        NDArray up = project(layer.up(), x, adapter);
        NDArray act = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(up);
        return project(layer.down(), act, adapter);
    }

    private static NDArray project(Linear linear, NDArray x, LinearAdapter adapter) {
        if (adapter == null) {
            return linear.apply(x);
        }
        NDArray y = linear.apply(x, adapter.weight(linear));
        NDArray delta = adapter.delta(linear, x);
        return delta == null ? y : y.add(delta);
    }

    /** RMSNorm: {@code x / sqrt(mean(x^2) + eps) * weight}. */
    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
        return x.div(rms).mul(weight);
    }

    /** cos and sin of the rotary angles by table lookup, each [B, 1, T, headDim]. */
    private NDArray[] gatherRotary(NDArray positions) {
        NDArray pos = positions.expandDims(1);
        return new NDArray[] {
            pos.getNDArrayInternal().embedding(pos, cosTable, SparseFormat.DENSE).singletonOrThrow(),
            pos.getNDArrayInternal().embedding(pos, sinTable, SparseFormat.DENSE).singletonOrThrow()
        };
    }

    /**
     * Appends the query's cos and sin, scaled by 1/sqrt(headDim) and shaped
     * [B, 1, 1, T, headDim] for the grouped queries [B, kvHeads, groups, T, headDim].
     */
    private NDArray[] withQueryRotary(NDArray[] rope) {
        return new NDArray[] {
            rope[0], rope[1], rope[0].mul(attentionScale).expandDims(1), rope[1].mul(attentionScale).expandDims(1)
        };
    }

    /**
     * cos and sin tables [rows, headDim] in {@code dtype} for positions 0 .. rows-1, owned by
     * {@code manager}; the same operations {@link #rotary} runs, so the same numbers.
     */
    static NDArray[] rotaryTables(NDManager manager, float[] invFreq, int rows, DataType dtype) {
        try (NDManager tmp = manager.newSubManager()) {
            NDArray freq = tmp.create(invFreq);
            NDArray angles = tmp.arange(0, rows).toType(DataType.FLOAT32, false).expandDims(-1).mul(freq);
            NDArray emb = NDArrays.concat(new NDList(angles, angles), -1);
            NDArray cos = emb.cos().toType(dtype, true);
            NDArray sin = emb.sin().toType(dtype, true);
            cos.attach(manager);
            sin.attach(manager);
            return new NDArray[] {cos, sin};
        }
    }

    /** The rotary tables, cos and sin [rows, headDim] (for tests). */
    NDArray[] rotaryTables() {
        return new NDArray[] {cosTable, sinTable};
    }

    /** cos and sin of the rotary angles, each [B, 1, T, headDim] in the compute dtype. */
    NDArray[] rotary(NDArray positions) {
        NDManager scope = positions.getManager();
        NDArray freq = scope.create(invFreq);
        NDArray angles = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(freq);
        NDArray emb = NDArrays.concat(new NDList(angles, angles), -1);
        return new NDArray[] {
            emb.cos().toType(dtype, false).expandDims(1), emb.sin().toType(dtype, false).expandDims(1)
        };
    }

    /** {@code x*cos + rotate_half(x)*sin} with rotate_half(x) = [-x2, x1]. */
    private NDArray applyRotary(NDArray x, NDArray cos, NDArray sin) {
        return x.mul(cos).add(x.matMul(rotateHalf).mul(sin));
    }

    /**
     * R with {@code x R = [-x2, x1]}: column j < d/2 takes -x[j + d/2], column j >= d/2 takes
     * x[j - d/2]. Entries are 0 and +-1, so the product is exact.
     */
    private static NDArray rotateHalfMatrix(NDManager manager, int headDim, DataType dtype) {
        int half = headDim / 2;
        float[] r = new float[headDim * headDim];
        for (int j = 0; j < half; j++) {
            r[(j + half) * headDim + j] = -1f;
            r[j * headDim + j + half] = 1f;
        }
        return manager.create(r, new Shape(headDim, headDim)).toType(dtype, false);
    }

    /**
     * Additive attention bias [B, 1, 1, T, S]: 0 where query slot past+i may see key slot j
     * (j <= past+i and the key is real), a large negative score elsewhere.
     */
    private NDArray attentionBias(NDManager scope, NDArray keyMask, int past, int t) {
        long s = keyMask.getShape().get(1);
        if (t == 1) {
            // One query at the last slot sees every earlier slot: only padding is masked.
            return keyMask.toType(dtype, false).sub(one).mul(negMaskedScore)
                    .reshape(keyMask.getShape().get(0), 1, 1, 1, s);
        }
        NDArray querySlots = scope.arange(past, past + t).reshape(t, 1);
        NDArray keySlots = scope.arange(0, (int) s).reshape(1, s);
        NDArray causal = keySlots.lte(querySlots).expandDims(0);
        NDArray real = keyMask.toType(DataType.BOOLEAN, false).expandDims(1);
        NDArray allowed = causal.logicalAnd(real).toType(DataType.FLOAT32, false);
        return allowed.sub(1f).mul(-maskedScore(dtype)).toType(dtype, false).expandDims(1).expandDims(1);
    }

    @Override
    public void close() {
        manager.close();
    }
}
