package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ShuffleTest {
    @Test
    void shouldDrawTheSamePermutationForTheSameSeed() {
        int[] a = Shuffle.permutation(100, new SplittableRandom(7));
        int[] b = Shuffle.permutation(100, new SplittableRandom(7));
        int[] c = Shuffle.permutation(100, new SplittableRandom(8));

        assertThat(a).isEqualTo(b).isNotEqualTo(c);
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        assertThat(sorted).isEqualTo(IntStream.range(0, 100).toArray());
    }

    @Test
    void shouldPutEveryElementEverywhereAboutEquallyOften() {
        int n = 4;
        int draws = 40_000;
        int[][] counts = new int[n][n];
        SplittableRandom random = new SplittableRandom(1);
        for (int d = 0; d < draws; d++) {
            int[] order = Shuffle.permutation(n, random);
            for (int position = 0; position < n; position++) {
                counts[order[position]][position]++;
            }
        }
        for (int[] row : counts) {
            for (int count : row) {
                assertThat(count).isBetween(draws / n - 400, draws / n + 400);
            }
        }
    }
}
