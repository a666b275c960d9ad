package io.rollout.learner.trainer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import io.rollout.policy.model.Scalars;

/**
 * The per-token loss of docs/algorithms.md#the-loss on padded [batch, tokens] arrays, summed over real
 * tokens and divided by the token count of the whole mini-batch (token-mean; a micro-batch
 * passes the mini-batch's count so that accumulated gradients equal the mini-batch's).
 * Scalars are {@link Scalars} arrays, never DJL's {@code mul(Number)}: see there why.
 */
public final class PpoLoss {

    private PpoLoss() {}

    /**
     * @param logProbs new log-probs [B, R] (differentiable)
     * @param oldLogProbs log-probs the actor sampled with [B, R]
     * @param refLogProbs base-model log-probs [B, R]
     * @param advantages one advantage per sequence [B]
     * @param entropies full-distribution entropies [B, R] (differentiable)
     * @param mask 1 for real response tokens, 0 for padding [B, R]
     * @param tokenCount the denominator of the token mean
     */
    public static Terms compute(NDArray logProbs, NDArray oldLogProbs, NDArray refLogProbs, NDArray advantages,
            NDArray entropies, NDArray mask, double tokenCount, LossConfig config) {
        NDArray a = advantages.expandDims(1);
        NDArray negA = a.neg();
        NDArray ratio = logProbs.sub(oldLogProbs).exp();
        NDArray unclipped = negA.mul(ratio);
        NDArray clipped = negA.mul(ratio.clip((float) (1 - config.epsLow()), (float) (1 + config.epsHigh())));
        NDArray ppo = NDArrays.maximum(unclipped, clipped);
        NDArray dual = NDArrays.minimum(ppo, negA.mul(Scalars.of(negA, config.clipC())));
        NDArray policy = NDArrays.where(a.lt(0).broadcast(ppo.getShape()), dual, ppo);
        NDArray d = refLogProbs.sub(logProbs);
        NDArray kl = d.exp().sub(d).sub(Scalars.of(d, 1)).clip((float) -config.klClamp(), (float) config.klClamp());
        NDArray perToken = policy.add(kl.mul(Scalars.of(kl, config.klCoef())))
                .sub(entropies.mul(Scalars.of(entropies, config.entropyCoef())));
        NDArray sum = perToken.mul(mask).sum();
        NDArray loss = sum.div(Scalars.of(sum, tokenCount));
        // A token is clipped when its loss is not -A * ratio: the gradient through the ratio is cut.
        NDArray cut = policy.neq(unclipped).toType(mask.getDataType(), false).mul(mask);
        return new Terms(loss, sum(policy, mask), sum(kl, mask), sum(entropies, mask), cut.sum().getFloat(),
                mask.sum().getFloat());
    }

    private static double sum(NDArray values, NDArray mask) {
        return values.mul(mask).sum().toType(DataType.FLOAT64, false).getDouble();
    }

    /**
     * The loss to back-propagate, and sums over real tokens for reporting (divide by
     * {@code tokens} for means).
     */
    public record Terms(NDArray loss, double policySum, double klSum, double entropySum, double clippedTokens,
            double tokens) {}
}
