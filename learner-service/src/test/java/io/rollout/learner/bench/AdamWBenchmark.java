package io.rollout.learner.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.rollout.learner.trainer.AdamW;
import io.rollout.learner.trainer.OptimizerConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Time of one {@link AdamW#update} over tensors of the tiny model's LoRA adapter (rank 8 on all
 * seven projections of its 2 layers: 28 tensors), gradients from a toy loss; prints the mean of
 * each of 4 rounds of {@code N} updates.
 *
 * <pre>java -cp learner-service/target/test-classes:learner-service/target/classes:CLASSPATH \
 *     io.rollout.learner.bench.AdamWBenchmark [N, default 300]</pre>
 */
public final class AdamWBenchmark {

    private static final int[][] LAYER = {{8, 64}, {64, 8}, {8, 64}, {32, 8}, {8, 64}, {32, 8}, {8, 64}, {64, 8},
        {8, 64}, {128, 8}, {8, 64}, {128, 8}, {8, 128}, {64, 8}};

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        try (NDManager manager = NDManager.newBaseManager()) {
            List<NDArray> params = new ArrayList<>();
            for (int layer = 0; layer < 2; layer++) {
                for (int[] shape : LAYER) {
                    NDArray p = manager.randomNormal(new Shape(shape[0], shape[1]));
                    p.setRequiresGradient(true);
                    params.add(p);
                }
            }
            try (AdamW adam = new AdamW(OptimizerConfig.defaults(), params)) {
                for (int round = 0; round < 4; round++) {
                    long nanos = 0;
                    for (int i = 0; i < n; i++) {
                        try (NDManager scope = manager.newSubManager();
                                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                            NDArray loss = null;
                            for (NDArray p : params) {
                                NDArray x = p.mul(p).sum();
                                loss = loss == null ? x : loss.add(x);
                            }
                            collector.backward(loss);
                        }
                        long start = System.nanoTime();
                        adam.update();
                        nanos += System.nanoTime() - start;
                    }
                    System.out.printf("round %d: AdamW update over %d tensors %.3f ms%n", round, params.size(),
                            nanos / 1e6 / n);
                }
            }
        }
    }
}
