package io.rollout.learner.trainer;

/**
 * Coefficients of the critic-free policy loss (docs/algorithms.md#the-loss): dual-clip PPO with clip
 * range [1 - epsLow, 1 + epsHigh] and lower bound {@code clipC} for negative advantages, the
 * k3 KL estimate to the base model clamped to +-klClamp, and an entropy bonus.
 */
public record LossConfig(double epsLow, double epsHigh, double clipC, double klCoef, double klClamp,
        double entropyCoef) {

    public LossConfig {
        require(epsLow >= 0 && epsLow < 1, "clip-eps-low must be in [0, 1)", epsLow);
        require(epsHigh >= 0, "clip-eps-high must be >= 0", epsHigh);
        require(clipC > 1, "clip-c must be > 1 (the dual clip bounds -A*ratio by -A*c)", clipC);
        require(klCoef >= 0, "kl-coef must be >= 0", klCoef);
        require(klClamp > 0, "kl-clamp must be > 0", klClamp);
        require(entropyCoef >= 0, "entropy-coef must be >= 0", entropyCoef);
    }

    /** eps 0.2 / 0.2, c = 3, KL coefficient 0.01 clamped to 10, entropy coefficient 0.001. */
    public static LossConfig defaults() {
        return new LossConfig(0.2, 0.2, 3.0, 0.01, 10.0, 0.001);
    }

    public LossConfig withKlCoef(double coef) {
        return new LossConfig(epsLow, epsHigh, clipC, coef, klClamp, entropyCoef);
    }

    public LossConfig withEntropyCoef(double coef) {
        return new LossConfig(epsLow, epsHigh, clipC, klCoef, klClamp, coef);
    }

    static void require(boolean ok, String message, double value) {
        if (!ok || Double.isNaN(value)) {
            throw new IllegalArgumentException(message + ", got " + value);
        }
    }
}
