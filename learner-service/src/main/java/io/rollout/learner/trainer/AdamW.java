package io.rollout.learner.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.rollout.policy.safetensors.SafetensorsFile;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW as PyTorch defines it (decoupled decay {@code p *= 1 - lr wd}, bias-corrected moments),
 * preceded by clipping the global gradient norm. Updates parameters in place and zeroes their
 * gradients, because DJL accumulates gradients until they are zeroed.
 */
public final class AdamW implements AutoCloseable {

    private final OptimizerConfig config;
    private final List<NDArray> params;
    private final NDManager manager;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private long step;

    public AdamW(OptimizerConfig config, List<NDArray> params) {
        if (params.isEmpty()) {
            throw new IllegalArgumentException("no parameters to optimise");
        }
        this.config = config;
        this.params = List.copyOf(params);
        this.manager = params.get(0).getManager().newSubManager();
        for (NDArray p : params) {
            m.add(manager.zeros(p.getShape(), p.getDataType()));
            v.add(manager.zeros(p.getShape(), p.getDataType()));
        }
    }

    /** Optimizer steps taken so far. */
    public long steps() {
        return step;
    }

    /**
     * Clips the gradients to the configured global norm, takes one AdamW step and zeroes the
     * gradients. Returns the global gradient norm before clipping.
     */
    public double update() {
        return update(config.learningRate());
    }

    /** {@link #update()} at {@code learningRate} instead of the configured rate (a schedule). */
    public double update(double learningRate) {
        try (NDManager scope = manager.newSubManager()) {
            List<NDArray> grads = new ArrayList<>(params.size());
            double sumSquares = 0;
            for (NDArray p : params) {
                NDArray g = p.getGradient();
                g.attach(scope);
                grads.add(g);
                sumSquares += g.square().sum().toType(DataType.FLOAT64, false).getDouble();
            }
            double norm = Math.sqrt(sumSquares);
            double clip = norm > config.maxGradNorm() ? config.maxGradNorm() / (norm + 1e-6) : 1.0;
            step++;
            double bc1 = 1 - Math.pow(config.beta1(), step);
            double bc2 = 1 - Math.pow(config.beta2(), step);
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray g = grads.get(i);
                NDArray gs = g.mul((float) clip);
                m.get(i).muli((float) config.beta1()).addi(gs.mul((float) (1 - config.beta1())));
                v.get(i).muli((float) config.beta2()).addi(gs.square().muli((float) (1 - config.beta2())));
                NDArray denom = gs.zerosLike().addi(v.get(i)).divi((float) bc2).sqrt().addi((float) config.epsilon());
                NDArray update = gs.zerosLike().addi(m.get(i)).divi((float) bc1).divi(denom).muli((float) learningRate);
                p.muli((float) (1 - learningRate * config.weightDecay()));
                p.subi(update);
                g.subi(g);
            }
            return norm;
        }
    }

    /** Zeroes the parameters' gradients (left by an abandoned step). */
    public void clearGradients() {
        for (NDArray p : params) {
            NDArray g = p.getGradient();
            g.zerosLike().copyTo(g);
            g.close();
        }
    }

    /** The moments as named tensors ({@code adamw.m.<i>}, {@code adamw.v.<i>}, parameter order), for checkpoints. */
    public Map<String, NDArray> state() {
        Map<String, NDArray> state = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            state.put("adamw.m." + i, m.get(i));
            state.put("adamw.v." + i, v.get(i));
        }
        return state;
    }

    /** Restores moments written from {@link #state()} and the step count. */
    public void restore(SafetensorsFile file, long steps) {
        for (int i = 0; i < params.size(); i++) {
            NDArray p = params.get(i);
            NDArray first = file.load(manager, "adamw.m." + i, p.getShape(), p.getDataType());
            NDArray second = file.load(manager, "adamw.v." + i, p.getShape(), p.getDataType());
            m.set(i, first).close();
            v.set(i, second).close();
        }
        this.step = steps;
    }

    @Override
    public void close() {
        manager.close();
    }
}
