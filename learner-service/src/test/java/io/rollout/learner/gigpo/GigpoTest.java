package io.rollout.learner.gigpo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The GiGPO rules one by one, on hand-sized groups. */
class GigpoTest {

    private static final GigpoConfig MEAN = GigpoConfig.defaults();
    private static final GigpoConfig STD = MEAN.withMode(GigpoMode.MEAN_STD_NORM);

    private static GigpoRow row(String episode, int t, String anchor, double reward) {
        return new GigpoRow(episode, t, anchor, reward, true);
    }

    @Test
    void shouldReturnEmptyListForNoRows() {
        assertThat(Gigpo.compute(List.of(), MEAN)).isEmpty();
    }

    @Test
    void shouldUseMeanZeroAndStdOneForSingleRowGroup() {
        List<GigpoRow> rows = List.of(row("e", 0, "s", 3.0));

        GigpoResult mean = Gigpo.compute(rows, MEAN).get(0);
        GigpoResult std = Gigpo.compute(rows, STD).get(0);

        assertThat(mean.episodeAdvantage()).isEqualTo(3.0);
        assertThat(std.episodeAdvantage()).isEqualTo(3.0 / (1.0 + 1e-6));
        assertThat(mean.stepAdvantage()).isEqualTo(0.0);
        assertThat(mean.advantage()).isEqualTo(3.0);
        assertThat(mean.anchorGroupSize()).isEqualTo(1);
    }

    @Test
    void shouldGiveSingletonAnchorGroupZeroStepAdvantage() {
        List<GigpoRow> rows = List.of(
                row("a", 0, "start", 0.0), row("a", 1, "only-a", 1.0),
                row("b", 0, "start", 0.0), row("b", 1, "only-b", 0.0));

        List<GigpoResult> results = Gigpo.compute(rows, STD);

        assertThat(results.get(1).anchorGroupSize()).isEqualTo(1);
        assertThat(results.get(1).stepAdvantage()).isEqualTo(0.0);
        assertThat(results.get(3).stepAdvantage()).isEqualTo(0.0);
        assertThat(results.get(0).anchorGroupSize()).isEqualTo(2);
        assertThat(results.get(0).stepAdvantage()).isNotEqualTo(0.0);
    }

    @Test
    void shouldGiveExactlyZeroWhenAllReturnsOfAnAnchorGroupAreEqual() {
        // 0.1 three times: (0.1 + 0.1 + 0.1) / 3 != 0.1 in binary, so a naive mean leaves residue
        // that mean_std_norm would blow up.
        List<GigpoRow> rows = new ArrayList<>();
        for (String e : List.of("a", "b", "c")) {
            rows.add(row(e, 0, "same", 0.1));
        }
        rows.add(row("d", 0, "other", 1.0));

        for (GigpoConfig config : List.of(MEAN, STD)) {
            List<GigpoResult> results = Gigpo.compute(rows, config);
            for (int i = 0; i < 3; i++) {
                assertThat(results.get(i).anchorGroupSize()).isEqualTo(3);
                assertThat(results.get(i).stepAdvantage()).isEqualTo(0.0);
            }
        }
        List<GigpoRow> allEqual = rows.subList(0, 3);
        for (GigpoResult result : Gigpo.compute(allEqual, STD)) {
            assertThat(result.episodeAdvantage()).isEqualTo(0.0);
            assertThat(result.advantage()).isEqualTo(0.0);
        }
    }

    @Test
    void shouldReduceToGrpoWhenOmegaIsZero() {
        List<GigpoRow> rows = List.of(
                row("a", 0, "s0", 0.0), row("a", 1, "s1", 1.0),
                row("b", 0, "s0", 0.0), row("b", 1, "s2", 0.0), row("b", 2, "s1", 0.0));

        List<GigpoResult> results = Gigpo.compute(rows, STD.withOmega(0.0));

        // Scores over rows: 1, 1, 0, 0, 0 -> mean 0.4, unbiased std sqrt(0.3).
        double std = Math.sqrt(0.3) + 1e-6;
        double[] expected = {0.6 / std, 0.6 / std, -0.4 / std, -0.4 / std, -0.4 / std};
        for (int i = 0; i < rows.size(); i++) {
            assertThat(results.get(i).advantage()).isEqualTo(results.get(i).episodeAdvantage());
            assertThat(results.get(i).advantage()).isCloseTo(expected[i], within(1e-12));
        }
    }

    @Test
    void shouldCombineLevelsWithOmega() {
        List<GigpoRow> rows = List.of(
                row("a", 0, "s0", 0.0), row("a", 1, "s1", 1.0),
                row("b", 0, "s0", 0.0), row("b", 1, "s2", 0.0));

        for (GigpoResult r : Gigpo.compute(rows, MEAN.withOmega(0.5))) {
            assertThat(r.advantage()).isEqualTo(r.episodeAdvantage() + 0.5 * r.stepAdvantage());
        }
    }

    @Test
    void shouldGroupSimilarAnchorsTheSameWayWhateverTheRowOrder() {
        // "aaab" is similar to both "aaaa" and "aabb" (0.75), which are not similar to each other
        // (0.5): the group it joins depends on which of the two is met first.
        List<GigpoRow> rows = List.of(row("0", 0, "aaaa", 1.0), row("1", 0, "aaab", 0.0), row("2", 0, "aabb", 0.5),
                row("10", 0, "aabb", 0.0));
        List<GigpoRow> reversed = new ArrayList<>(rows);
        Collections.reverse(reversed);
        GigpoConfig config = MEAN.withSimilarityThreshold(0.7);

        Map<String, GigpoResult> inOrder = byStep(rows, Gigpo.compute(rows, config));
        Map<String, GigpoResult> backwards = byStep(reversed, Gigpo.compute(reversed, config));

        // Episode 0 comes first (episode 10 after 2, as a number), so "aaab" joins "aaaa".
        assertThat(inOrder.get("1#0").anchorGroupSize()).isEqualTo(2);
        assertThat(inOrder.get("0#0").anchorGroup()).isEqualTo(inOrder.get("1#0").anchorGroup());
        for (String step : inOrder.keySet()) {
            assertThat(backwards.get(step).stepAdvantage()).as(step).isEqualTo(inOrder.get(step).stepAdvantage());
            assertThat(backwards.get(step).anchorGroupSize()).as(step).isEqualTo(inOrder.get(step).anchorGroupSize());
        }
    }

    @Test
    void shouldGiveSameResultsForShuffledInput() {
        List<GigpoRow> sorted = randomGroup(new Random(11), 8, 12);
        List<GigpoRow> shuffled = new ArrayList<>(sorted);
        Collections.shuffle(shuffled, new Random(5));

        // Similarity grouping is greedy, but visits the rows in (episode, t) order whatever the input order.
        for (GigpoConfig config : List.of(MEAN, STD, STD.withOmega(0.5), MEAN.withSimilarityThreshold(0.7),
                STD.withSimilarityThreshold(0.5))) {
            Map<String, GigpoResult> expected = byStep(sorted, Gigpo.compute(sorted, config));
            Map<String, GigpoResult> actual = byStep(shuffled, Gigpo.compute(shuffled, config));
            Map<Integer, Integer> groupMapping = new HashMap<>();
            for (Map.Entry<String, GigpoResult> e : expected.entrySet()) {
                GigpoResult want = e.getValue();
                GigpoResult got = actual.get(e.getKey());
                // Scores and returns are computed per episode in t order: bit-identical.
                assertThat(got.episodeScore()).isEqualTo(want.episodeScore());
                assertThat(got.stepReturn()).isEqualTo(want.stepReturn());
                assertThat(got.anchorGroupSize()).isEqualTo(want.anchorGroupSize());
                // Group statistics sum in input order, so allow for rounding only.
                assertThat(got.episodeAdvantage()).isCloseTo(want.episodeAdvantage(), within(1e-12));
                assertThat(got.stepAdvantage()).isCloseTo(want.stepAdvantage(), within(1e-12));
                assertThat(got.advantage()).isCloseTo(want.advantage(), within(1e-12));
                // Group numbering follows first appearance, so only the partition must agree.
                Integer mapped = groupMapping.putIfAbsent(want.anchorGroup(), got.anchorGroup());
                assertThat(mapped == null ? got.anchorGroup() : mapped).isEqualTo(got.anchorGroup());
            }
            assertThat(groupMapping.values()).doesNotHaveDuplicates();
        }
    }

    @Test
    void shouldApplyInvalidPenaltyAfterDiscountingToThatRowOnly() {
        List<GigpoRow> rows = List.of(
                row("a", 0, "s0", 0.0),
                new GigpoRow("a", 1, "s1", 0.0, false),
                row("a", 2, "s2", 10.0));
        GigpoConfig config = MEAN.withGamma(0.5).withInvalidPenalty(0.1);

        List<GigpoResult> results = Gigpo.compute(rows, config);

        assertThat(results.get(2).stepReturn()).isEqualTo(10.0);
        assertThat(results.get(1).stepReturn()).isCloseTo(5.0 - 0.1, within(1e-15));
        // The earlier step discounts the unpenalised return: 0.5 * 5.0, not 0.5 * 4.9.
        assertThat(results.get(0).stepReturn()).isEqualTo(2.5);
        assertThat(results.get(0).episodeScore()).isEqualTo(10.0);
        assertThat(results.get(1).episodeScore()).isCloseTo(9.9, within(1e-15));
        assertThat(results.get(2).episodeScore()).isEqualTo(10.0);
    }

    @Test
    void shouldNumberAnchorGroupsByFirstAppearance() {
        List<GigpoRow> rows = List.of(
                row("b", 1, "y", 0.0), row("a", 0, "x", 0.0), row("b", 0, "x", 0.0), row("a", 1, "z", 0.0));

        List<GigpoResult> results = Gigpo.compute(rows, MEAN);

        assertThat(results).extracting(GigpoResult::anchorGroup).containsExactly(0, 1, 1, 2);
        assertThat(results).extracting(GigpoResult::anchorGroupSize).containsExactly(1, 2, 2, 1);
    }

    @Test
    void shouldMergeSimilarAnchorsGreedilyByFirstMember() {
        // ratio(B, A) = 0.9, ratio(C, A) = 0.8 but ratio(C, B) = 0.9, ratio(D, A) = 0.9.
        String a = "abcdefghij";
        String b = "abcdefghiX";
        String c = "abcdefghXX";
        String d = "abcdefghiY";
        List<GigpoRow> rows = List.of(
                row("e1", 0, a, 1.0), row("e2", 0, b, 0.0), row("e3", 0, c, 0.0),
                row("e4", 0, d, 2.0), row("e5", 0, c, 1.0));

        List<GigpoResult> similar = Gigpo.compute(rows, MEAN.withSimilarityThreshold(0.85));
        List<GigpoResult> exact = Gigpo.compute(rows, MEAN);

        // C is compared with the first member A only, so it does not join B's group.
        assertThat(similar).extracting(GigpoResult::anchorGroup).containsExactly(0, 0, 1, 0, 1);
        assertThat(similar).extracting(GigpoResult::anchorGroupSize).containsExactly(3, 3, 2, 3, 2);
        assertThat(similar.get(0).stepAdvantage()).isCloseTo(0.0, within(1e-15)); // 1 - mean(1, 0, 2)
        assertThat(similar.get(3).stepAdvantage()).isCloseTo(1.0, within(1e-15));
        assertThat(exact).extracting(GigpoResult::anchorGroup).containsExactly(0, 1, 2, 3, 2);
    }

    @Test
    void shouldTreatThresholdOneAsExactGrouping() {
        List<GigpoRow> rows = randomGroup(new Random(3), 4, 6);

        List<GigpoResult> exact = Gigpo.compute(rows, STD);
        List<GigpoResult> one = Gigpo.compute(rows, STD.withSimilarityThreshold(1.0));

        assertThat(one).isEqualTo(exact);
    }

    @Test
    void shouldAcceptAnyListImplementation() {
        List<GigpoRow> rows = randomGroup(new Random(9), 3, 4);

        assertThat(Gigpo.compute(new LinkedList<>(rows), MEAN)).isEqualTo(Gigpo.compute(rows, MEAN));
    }

    @Test
    void shouldRejectDuplicateSteps() {
        List<GigpoRow> rows = List.of(row("a", 0, "s", 0.0), row("b", 0, "s", 0.0), row("a", 0, "t", 1.0));

        assertThatThrownBy(() -> Gigpo.compute(rows, MEAN))
                .isInstanceOf(DuplicateStepException.class)
                .hasMessageContaining("'a'")
                .hasMessageContaining("t=0")
                .satisfies(e -> {
                    DuplicateStepException d = (DuplicateStepException) e;
                    assertThat(d.firstRow()).isEqualTo(0);
                    assertThat(d.secondRow()).isEqualTo(2);
                });
    }

    @Test
    void shouldRejectNonFiniteRewards() {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            List<GigpoRow> rows = List.of(row("a", 0, "s", 0.0), row("a", 1, "s", bad));
            assertThatThrownBy(() -> Gigpo.compute(rows, MEAN))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("reward must be finite");
        }
    }

    @Test
    void shouldRejectInvalidConfigNamingTheParameter() {
        GigpoConfig d = GigpoConfig.defaults();
        assertThatThrownBy(() -> d.withGamma(1.5)).hasMessageContaining("gamma");
        assertThatThrownBy(() -> d.withGamma(-0.1)).hasMessageContaining("gamma");
        assertThatThrownBy(() -> d.withGamma(Double.NaN)).hasMessageContaining("gamma");
        assertThatThrownBy(() -> d.withInvalidPenalty(-1)).hasMessageContaining("invalidPenalty");
        assertThatThrownBy(() -> d.withOmega(Double.NaN)).hasMessageContaining("omega");
        assertThatThrownBy(() -> d.withOmega(Double.POSITIVE_INFINITY)).hasMessageContaining("omega");
        assertThatThrownBy(() -> d.withSimilarityThreshold(0.0)).hasMessageContaining("similarityThreshold");
        assertThatThrownBy(() -> d.withSimilarityThreshold(1.01)).hasMessageContaining("similarityThreshold");
        assertThatThrownBy(() -> new GigpoConfig(GigpoMode.MEAN_NORM, 1, 0.95, 0.1, 0.0, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("epsilon");
        assertThatThrownBy(() -> d.withMode(null)).hasMessageContaining("mode");
        assertThatThrownBy(() -> GigpoMode.parse("zscore"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("zscore");
    }

    @Test
    void shouldParseModeKeysAndExposeDefaults() {
        assertThat(GigpoMode.parse("mean_norm")).isEqualTo(GigpoMode.MEAN_NORM);
        assertThat(GigpoMode.parse("mean_std_norm")).isEqualTo(GigpoMode.MEAN_STD_NORM);
        assertThat(GigpoMode.MEAN_STD_NORM.key()).isEqualTo("mean_std_norm");
        GigpoConfig d = GigpoConfig.defaults();
        assertThat(d.mode()).isEqualTo(GigpoMode.MEAN_NORM);
        assertThat(d.omega()).isEqualTo(1.0);
        assertThat(d.gamma()).isEqualTo(0.95);
        assertThat(d.invalidPenalty()).isEqualTo(0.1);
        assertThat(d.epsilon()).isEqualTo(1e-6);
        assertThat(d.similarityGrouping()).isFalse();
        assertThat(d.withSimilarityThreshold(0.9).similarityGrouping()).isTrue();
    }

    /** Episodes walking a small state space, so anchors repeat across episodes and time. */
    static List<GigpoRow> randomGroup(Random random, int episodes, int maxSteps) {
        List<GigpoRow> rows = new ArrayList<>();
        for (int e = 0; e < episodes; e++) {
            int steps = 1 + random.nextInt(maxSteps);
            for (int t = 0; t < steps; t++) {
                String anchor = "room-" + random.nextInt(5) + "-state-" + random.nextInt(3);
                double reward = t == steps - 1 && random.nextBoolean() ? 10.0 : random.nextInt(3) * 0.1;
                rows.add(new GigpoRow("ep" + e, t, anchor, reward, random.nextInt(5) > 0));
            }
        }
        return rows;
    }

    private static Map<String, GigpoResult> byStep(List<GigpoRow> rows, List<GigpoResult> results) {
        Map<String, GigpoResult> out = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            out.put(rows.get(i).episode() + "#" + rows.get(i).t(), results.get(i));
        }
        return out;
    }
}
