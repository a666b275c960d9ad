package io.rollout.learner.trainer;

import java.util.Locale;

/**
 * LoRA-GGPO settings (docs/algorithms.md#lora-ggpo). {@code rampSteps} is T of the cosine ramp
 * {@code f(t) = 0.5 (1 - cos(pi t / T))}, held at 1 after T; 0 turns the ramp off (f = 1).
 */
public record GgpoConfig(Mode mode, double sigma, double beta, long rampSteps) {

    /** none: plain LoRA; flat: Flat-LoRA (beta = 0); ggpo: gradient-guided perturbation. */
    public enum Mode {
        NONE, FLAT, GGPO;

        public static Mode parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("unknown GGPO mode '" + text + "'; known: none, flat, ggpo");
            }
        }
    }

    public GgpoConfig {
        if (mode == null) {
            throw new IllegalArgumentException("ggpo mode must be set (none, flat, ggpo)");
        }
        LossConfig.require(sigma >= 0, "ggpo-sigma must be >= 0", sigma);
        LossConfig.require(beta >= 0, "ggpo-beta must be >= 0", beta);
        if (rampSteps < 0) {
            throw new IllegalArgumentException("ggpo-ramp-steps must be >= 0, got " + rampSteps);
        }
    }

    /** GGPO with sigma 0.03, beta 0.01 and a cosine ramp over 200 optimizer steps. */
    public static GgpoConfig defaults() {
        return new GgpoConfig(Mode.GGPO, 0.03, 0.01, 200);
    }

    public GgpoConfig withMode(Mode newMode) {
        return new GgpoConfig(newMode, sigma, beta, rampSteps);
    }

    /** beta as used: 0 for flat. */
    public double effectiveBeta() {
        return mode == Mode.FLAT ? 0 : beta;
    }

    /** f(t) for optimizer step t (0-based): the cosine ramp, or 1 without one. */
    public double ramp(long step) {
        if (rampSteps == 0 || step >= rampSteps) {
            return 1;
        }
        return 0.5 * (1 - Math.cos(Math.PI * step / rampSteps));
    }
}
