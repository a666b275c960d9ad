package io.rollout.learner.trainer;

/**
 * One sample as the trainer uses it: prompt and response token ids, the actor's per-token
 * log-probs of the response, and the sample's total advantage.
 */
public record TrainingSequence(int[] prompt, int[] response, float[] oldLogProbs, float advantage) {

    public TrainingSequence {
        if (prompt.length == 0 || response.length == 0) {
            throw new IllegalArgumentException("empty prompt or response");
        }
        if (oldLogProbs.length != response.length) {
            throw new IllegalArgumentException(oldLogProbs.length + " old log-probs for " + response.length
                    + " response tokens");
        }
        if (!Float.isFinite(advantage)) {
            throw new IllegalArgumentException("advantage is not finite: " + advantage);
        }
        for (float lp : oldLogProbs) {
            if (!(lp <= 0) || Float.isInfinite(lp)) {
                throw new IllegalArgumentException("old log-prob " + lp + " is not a finite value <= 0");
            }
        }
    }
}
