package io.rollout.learner.trainer;

import java.util.SplittableRandom;

/** Seeded orders of training examples. */
public final class Shuffle {
    private Shuffle() {}

    /** A uniformly random permutation of {@code 0..n-1} (Fisher-Yates), drawn from {@code random}. */
    public static int[] permutation(int n, SplittableRandom random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
