package io.rollout.learner.trainer;

/**
 * What one update did: token-weighted means of the loss terms over all of its mini-batches,
 * the share of clipped tokens, gradient norms before clipping and GGPO perturbation norms.
 * {@code kl} is NaN when the KL coefficient is zero: the base model's pass it needs is skipped.
 */
public record UpdateStats(int samples, long tokens, int optimizerSteps, double loss, double policyLoss, double kl,
        double entropy, double clipFraction, double gradNormMean, double gradNormMax, double perturbationNormMean) {}
