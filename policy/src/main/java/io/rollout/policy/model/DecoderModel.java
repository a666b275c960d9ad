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
        Map<String, Linear> byKey = new LinkedHashMap<>();
        for (DecoderLayer l : layers) {
            for (Linear lin : List.of(l.q(), l.k(), l.v(), l.o(), l.gate(), l.up(), l.down())) {
                byKey.put(lin.key(), lin);
            }
        }
        this.linears = Collections.unmodifiableMap(byKey);
    }

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
        NDArray[] rope = rotary(positions);
        NDArray bias = attentionBias(scope, keyMask, past, t, dtype);
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
        // Project and split heads: [B, T, heads*hd] -> [B, heads, T, hd].
        NDArray q = project(layer.q(), x, adapter).reshape(batch, t, heads, hd).transpose(0, 2, 1, 3);
        NDArray k = project(layer.k(), x, adapter).reshape(batch, t, kvHeads, hd).transpose(0, 2, 1, 3);
        NDArray v = project(layer.v(), x, adapter).reshape(batch, t, kvHeads, hd).transpose(0, 2, 1, 3);
        q = applyRotary(q, rope);
        k = applyRotary(k, rope);
        if (cache != null) {
            NDArray[] all = cache.append(index, k, v, q.getManager());
            k = all[0];
            v = all[1];
        }
        long s = k.getShape().get(2);
        // Grouped-query attention without copying keys: query head j*groups+r reads kv head j,
        // so view the queries as [B, kvHeads, groups, T, hd] and broadcast the keys over groups.
        NDArray q5 = q.reshape(batch, kvHeads, config.kvGroups(), t, hd);
        NDArray k5 = k.expandDims(2).transpose(0, 1, 2, 4, 3);
        NDArray products = q5.matMul(k5);
        NDArray scores = products.mul(Scalars.of(products, 1.0 / Math.sqrt(hd)));
        NDArray probs = scores.add(bias).softmax(-1);
        NDArray out = probs.matMul(v.expandDims(2))
                .reshape(batch, heads, t, hd)
                .transpose(0, 2, 1, 3)
                .reshape(batch, t, (long) heads * hd);
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
        NDArray rms = x.square().mean(new int[] {-1}, true).add(config.rmsNormEps()).sqrt();
        return x.div(rms).mul(weight);
    }

    /** cos and sin of the rotary angles, each [B, 1, T, headDim] in the compute dtype. */
    private NDArray[] rotary(NDArray positions) {
        NDManager scope = positions.getManager();
        NDArray freq = scope.create(invFreq);
        NDArray angles = positions.toType(DataType.FLOAT32, false).expandDims(-1).mul(freq);
        NDArray emb = NDArrays.concat(new NDList(angles, angles), -1);
        return new NDArray[] {
            emb.cos().toType(dtype, false).expandDims(1), emb.sin().toType(dtype, false).expandDims(1)
        };
    }

    /** {@code x*cos + rotate_half(x)*sin} with rotate_half(x) = [-x2, x1]. */
    private NDArray applyRotary(NDArray x, NDArray[] rope) {
        return x.mul(rope[0]).add(x.matMul(rotateHalf).mul(rope[1]));
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
    private static NDArray attentionBias(NDManager scope, NDArray keyMask, int past, int t, DataType dtype) {
        long s = keyMask.getShape().get(1);
        if (t == 1) {
            // One query at the last slot sees every earlier slot: only padding is masked.
            return keyMask.toType(dtype, false).sub(1f).mul(-maskedScore(dtype))
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
