package io.rollout.learner.trainer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.model.DecoderModel;
import io.rollout.policy.model.Linear;
import io.rollout.policy.model.LinearAdapter;
import io.rollout.policy.safetensors.SafetensorsFile;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * LoRA-GGPO (docs/algorithms.md#lora-ggpo): before an optimizer step's forward pass, each adapted layer's
 * frozen weight W is replaced by {@code W + eps} with {@code eps_ij ~ N(0, f(t) sigma^2 / n
 * (||W'_i||^2 + beta g_i^2))}, W' the merged weight and g_i the row norm of the gradient proxy
 * {@code G = s (dB A + B dA)} of the previous step. The perturbed weight is a new array in the
 * step's scope, so W itself is never written and stays bit-identical.
 */
public final class GgpoPerturbation implements AutoCloseable {

    private final GgpoConfig config;
    private final DecoderModel model;
    private final LoraAdapter adapter;
    private final NDManager manager;
    /** Module path -> g_i^2 of the previous step, [out]; absent before the first step. */
    private final Map<String, NDArray> gradientRowNormsSquared = new LinkedHashMap<>();
    private double lastPerturbationNorm;

    public GgpoPerturbation(GgpoConfig config, DecoderModel model, LoraAdapter adapter) {
        this.config = config;
        this.model = model;
        this.adapter = adapter;
        this.manager = model.manager().newSubManager();
    }

    /**
     * The adapter to run optimizer step {@code step} (0-based) with: the LoRA adapter itself in
     * mode none, else the adapter over perturbed weights drawn into {@code scope} (close the
     * scope after the backward pass). Call outside a gradient collector. Noise comes from the
     * engine's generator reseeded with {@code seed}, so a step is reproducible.
     */
    public LinearAdapter perturb(NDManager scope, long step, int seed) {
        lastPerturbationNorm = 0;
        double f = config.ramp(step);
        if (config.mode() == GgpoConfig.Mode.NONE || f == 0 || config.sigma() == 0) {
            return adapter;
        }
        Engine.getInstance().setRandomSeed(seed);
        double beta = config.effectiveBeta();
        double s = adapter.spec().scale();
        Map<String, NDArray> perturbed = new HashMap<>();
        double normSquared = 0;
        for (Map.Entry<String, NDArray[]> e : adapter.weights().entrySet()) {
            Linear layer = model.linears().get(e.getKey());
            NDArray a = e.getValue()[0];
            NDArray b = e.getValue()[1];
            try (NDManager tmp = scope.newSubManager()) {
                NDArray w = layer.weight();
                NDArray merged = b.matMul(a);
                merged.attach(tmp);
                NDArray rowSquared = merged.muli((float) s).addi(w).square().sum(new int[] {1});
                NDArray g2 = gradientRowNormsSquared.get(e.getKey());
                if (g2 != null && beta > 0) {
                    NDArray weighted = g2.mul((float) beta);
                    weighted.attach(tmp);
                    rowSquared.addi(weighted);
                }
                NDArray std = rowSquared.muli((float) (f * config.sigma() * config.sigma() / layer.inFeatures())).sqrt();
                NDArray eps = tmp.randomNormal(0, 1, w.getShape(), w.getDataType())
                        .muli(std.expandDims(1));
                normSquared += eps.square().sum().toType(DataType.FLOAT64, false).getDouble();
                NDArray wp = eps.addi(w);
                wp.attach(scope);
                perturbed.put(e.getKey(), wp);
            }
        }
        lastPerturbationNorm = Math.sqrt(normSquared);
        return new LinearAdapter() {
            @Override
            public NDArray delta(Linear layer, NDArray x) {
                return adapter.delta(layer, x);
            }

            @Override
            public NDArray weight(Linear layer) {
                NDArray wp = perturbed.get(layer.key());
                return wp == null ? layer.weight() : wp;
            }
        };
    }

    /**
     * After the backward pass, before the optimizer step: stores {@code g_i^2}, the squared row
     * norms of {@code G = s (dB A + B dA)}, for the next step. Only GGPO mode uses them.
     */
    public void recordGradients() {
        if (config.mode() != GgpoConfig.Mode.GGPO || config.beta() == 0) {
            return;
        }
        double s = adapter.spec().scale();
        for (Map.Entry<String, NDArray[]> e : adapter.weights().entrySet()) {
            NDArray a = e.getValue()[0];
            NDArray b = e.getValue()[1];
            try (NDManager tmp = manager.newSubManager()) {
                NDArray da = a.getGradient();
                NDArray db = b.getGradient();
                da.attach(tmp);
                db.attach(tmp);
                // Row i of G is s [dB_i, B_i] [A; dA], so ||G_i||^2 = s^2 u_i K u_i^T with u_i = [dB_i, B_i]
                // and the 2r x 2r Gram matrix K of [A; dA]: no out x in matrix is formed.
                NDArray v = NDArrays.concat(new NDList(a, da), 0);
                v.attach(tmp);
                NDArray u = NDArrays.concat(new NDList(db, b), 1);
                u.attach(tmp);
                NDArray gram = v.matMul(v.transpose());
                NDArray rows = u.matMul(gram).muli(u).sum(new int[] {1}).muli((float) (s * s));
                rows.attach(manager);
                NDArray old = gradientRowNormsSquared.put(e.getKey(), rows);
                if (old != null) {
                    old.close();
                }
            }
        }
    }

    /** Frobenius norm of the perturbation of the last {@link #perturb} call (0 if none was drawn). */
    public double lastPerturbationNorm() {
        return lastPerturbationNorm;
    }

    /** g_i^2 per adapted layer ({@code ggpo.g2.<module>}); empty before the first step. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> state = new LinkedHashMap<>();
        gradientRowNormsSquared.forEach((k, v) -> state.put("ggpo.g2." + k, v));
        return state;
    }

    /** Restores what {@link #state()} held; layers missing from the file start without a proxy. */
    public void restore(SafetensorsFile file) {
        gradientRowNormsSquared.values().forEach(NDArray::close);
        gradientRowNormsSquared.clear();
        for (String module : adapter.weights().keySet()) {
            String name = "ggpo.g2." + module;
            if (file.entry(name) != null) {
                Linear layer = model.linears().get(module);
                gradientRowNormsSquared.put(module, file.load(manager, name, new Shape(layer.outFeatures()), model.dtype()));
            }
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
