package io.rollout.learner.gigpo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * GiGPO advantages (arXiv 2505.10978, semantics of verl-agent's core_gigpo.py) for the rows of
 * one group. Pure and stateless, so it runs per completed group in a Streams task and in the
 * offline command alike.
 *
 * <ol>
 *   <li>Episode score of a row: the undiscounted sum of its episode's rewards, minus the
 *       invalid-action penalty if the row's action was invalid.</li>
 *   <li>Step return: {@code R_t = r_t + gamma R_{t+1}} within the episode, minus the penalty on
 *       an invalid row (after discounting).</li>
 *   <li>Episode-level advantage: score minus the mean over the group's rows (an episode of T
 *       steps counts T times), divided by (unbiased std + eps) in mean_std_norm; a group of
 *       one row uses mean 0 and std 1.</li>
 *   <li>Step-level advantage: the same over the rows of the row's anchor group (equal anchors,
 *       or similar ones with a similarity threshold); 0 for a singleton anchor group and
 *       exactly 0 when all its returns are equal.</li>
 *   <li>Advantage = episode-level + omega * step-level; omega 0 is GRPO.</li>
 * </ol>
 */
public final class Gigpo {

    private Gigpo() {}

    /**
     * Advantages of one group's rows; result i belongs to rows.get(i). Rows may be in any order.
     *
     * @throws IllegalArgumentException on a duplicate (episode, t) pair, a non-finite reward, or
     *     rewards so large that a result overflows
     */
    public static List<GigpoResult> compute(List<GigpoRow> rows, GigpoConfig config) {
        Objects.requireNonNull(rows, "rows");
        Objects.requireNonNull(config, "config");
        int n = rows.size();
        if (n == 0) {
            return List.of();
        }

        // Dense ids for episodes and anchors, in order of first appearance.
        int[] episodeOf = new int[n];
        int[] anchorOf = new int[n];
        int[] tOf = new int[n];
        double[] reward = new double[n];
        boolean[] valid = new boolean[n];
        Map<String, Integer> episodeIds = new HashMap<>();
        Map<String, Integer> anchorIds = new HashMap<>(Math.min(n, 1 << 16) * 4 / 3 + 1);
        List<String> episodes = new ArrayList<>();
        List<String> anchors = new ArrayList<>();
        String lastEpisode = null;
        int lastEpisodeId = -1;
        int i = 0;
        for (GigpoRow row : rows) { // for-each, not get(i): rows may be a linked list
            Objects.requireNonNull(row, "rows must not contain null");
            Objects.requireNonNull(row.episode(), "episode must not be null");
            Objects.requireNonNull(row.anchor(), "anchor must not be null");
            if (!Double.isFinite(row.reward())) {
                throw new IllegalArgumentException("reward must be finite, got " + row.reward()
                        + " (episode '" + row.episode() + "', t=" + row.t() + ")");
            }
            int e;
            if (row.episode().equals(lastEpisode)) {
                e = lastEpisodeId; // an episode's rows usually arrive together: skip the map
            } else {
                Integer known = episodeIds.get(row.episode());
                if (known == null) {
                    known = episodes.size();
                    episodeIds.put(row.episode(), known);
                    episodes.add(row.episode());
                }
                e = known;
                lastEpisode = row.episode();
                lastEpisodeId = e;
            }
            Integer a = anchorIds.get(row.anchor());
            if (a == null) {
                a = anchors.size();
                anchorIds.put(row.anchor(), a);
                anchors.add(row.anchor());
            }
            episodeOf[i] = e;
            anchorOf[i] = a;
            tOf[i] = row.t();
            reward[i] = row.reward();
            valid[i] = row.valid();
            i++;
        }

        double[] score = new double[n];
        double[] ret = new double[n];
        scoresAndReturns(episodeOf, episodes, tOf, reward, valid, config, score, ret);

        double[] episodeAdv = new double[n];
        normalizeEpisodeScores(score, config, episodeAdv);

        int[] cluster = anchorClusters(anchorOf, anchors, episodeOf, episodes, tOf, config);
        int clusters = 0;
        for (int c : cluster) {
            clusters = Math.max(clusters, c + 1);
        }
        int[] clusterSize = new int[clusters];
        double[] stepAdv = new double[n];
        normalizeStepReturns(ret, cluster, clusterSize, config, stepAdv);

        GigpoResult[] out = new GigpoResult[n];
        double omega = config.omega();
        for (int r = 0; r < n; r++) {
            double adv = episodeAdv[r] + omega * stepAdv[r];
            if (!Double.isFinite(adv) || !Double.isFinite(score[r]) || !Double.isFinite(ret[r])) {
                throw new IllegalArgumentException("non-finite result for episode '"
                        + episodes.get(episodeOf[r]) + "', t=" + tOf[r] + ": rewards too large");
            }
            out[r] = new GigpoResult(score[r], ret[r], cluster[r], clusterSize[cluster[r]],
                    episodeAdv[r], stepAdv[r], adv);
        }
        return Arrays.asList(out);
    }

    /** Episode scores {@code E - c(1-valid)} and discounted step returns {@code R_t - c(1-valid)}. */
    private static void scoresAndReturns(int[] episodeOf, List<String> episodes, int[] tOf,
            double[] reward, boolean[] valid, GigpoConfig config, double[] score, double[] ret) {
        int n = episodeOf.length;
        int episodeCount = episodes.size();
        // Rows of each episode, contiguous in input order (counting sort by episode id).
        int[] start = new int[episodeCount + 1];
        for (int e : episodeOf) {
            start[e + 1]++;
        }
        for (int e = 0; e < episodeCount; e++) {
            start[e + 1] += start[e];
        }
        int[] order = new int[n];
        int[] fill = Arrays.copyOf(start, episodeCount);
        for (int r = 0; r < n; r++) {
            order[fill[episodeOf[r]]++] = r;
        }

        double gamma = config.gamma();
        double c = config.invalidPenalty();
        for (int e = 0; e < episodeCount; e++) {
            int from = start[e];
            int to = start[e + 1];
            sortByT(order, from, to, tOf);
            for (int p = from + 1; p < to; p++) {
                if (tOf[order[p]] == tOf[order[p - 1]]) {
                    throw new DuplicateStepException(episodes.get(e), tOf[order[p]],
                            order[p - 1], order[p]);
                }
            }
            // E(tau) is summed in t order, as the reference does.
            double total = 0.0;
            for (int p = from; p < to; p++) {
                total += reward[order[p]];
            }
            double running = 0.0;
            for (int p = to - 1; p >= from; p--) {
                int r = order[p];
                running = reward[r] + gamma * running;
                // The penalty hits this row only and is applied after discounting, so it never
                // leaks into earlier steps' returns.
                ret[r] = valid[r] ? running : running - c;
                score[r] = valid[r] ? total : total - c;
            }
        }
    }

    /** Sorts order[from, to) by t, ties by row index (so the first duplicate is the earlier row). */
    private static void sortByT(int[] order, int from, int to, int[] tOf) {
        boolean sorted = true;
        for (int p = from + 1; p < to && sorted; p++) {
            sorted = tOf[order[p]] > tOf[order[p - 1]];
        }
        if (sorted) {
            return; // the usual case: steps arrive in order
        }
        long[] keys = new long[to - from];
        for (int p = from; p < to; p++) {
            keys[p - from] = ((long) tOf[order[p]] << 32) | order[p];
        }
        Arrays.sort(keys);
        for (int p = from; p < to; p++) {
            order[p] = (int) keys[p - from];
        }
    }

    /** Episode-level statistics run over rows: an episode of T steps counts T times. */
    private static void normalizeEpisodeScores(double[] score, GigpoConfig config, double[] out) {
        int n = score.length;
        boolean std = config.mode() == GigpoMode.MEAN_STD_NORM;
        if (n == 1) {
            // A lone row is compared with mean 0 and std 1, like the reference.
            out[0] = std ? score[0] / (1.0 + config.epsilon()) : score[0];
            return;
        }
        boolean allEqual = true;
        double sum = 0.0;
        for (int r = 0; r < n; r++) {
            sum += score[r];
            allEqual &= score[r] == score[0];
        }
        if (allEqual) {
            return; // x - mean is exactly 0; rounding in sum / n must not suggest otherwise
        }
        double mean = sum / n;
        double denominator = 1.0;
        if (std) {
            double squares = 0.0;
            for (int r = 0; r < n; r++) {
                double d = score[r] - mean;
                squares += d * d;
            }
            denominator = Math.sqrt(squares / (n - 1)) + config.epsilon();
        }
        for (int r = 0; r < n; r++) {
            out[r] = std ? (score[r] - mean) / denominator : score[r] - mean;
        }
    }

    /**
     * Anchor group of each row. With exact anchors, groups are dense in order of first appearance.
     * With similarity grouping a new anchor joins the first group whose first member's anchor is
     * similar enough (verl-agent's greedy clustering), visiting the rows in (episode, t) order
     * whatever the input order, so the groups (and the advantages) do not depend on how the rows
     * arrive: the advantage app and the offline command agree on any file. Episodes that are
     * integers compare as numbers, before any that are not, which compare as text. A repeated
     * anchor always lands where its first occurrence did, since group representatives never
     * change, so each distinct anchor is clustered once.
     */
    private static int[] anchorClusters(int[] anchorOf, List<String> anchors, int[] episodeOf, List<String> episodes,
            int[] tOf, GigpoConfig config) {
        if (!config.similarityGrouping()) {
            return anchorOf; // anchor ids already are dense in order of first appearance
        }
        double threshold = config.similarityThreshold();
        int[] clusterOfAnchor = new int[anchors.size()];
        Arrays.fill(clusterOfAnchor, -1);
        List<DifflibMatcher> representatives = new ArrayList<>();
        int[] cluster = new int[anchorOf.length];
        for (int r : canonicalOrder(episodeOf, episodes, tOf)) {
            int a = anchorOf[r];
            if (clusterOfAnchor[a] < 0) {
                String anchor = anchors.get(a);
                int found = -1;
                for (int k = 0; k < representatives.size() && found < 0; k++) {
                    // verl-agent calls SequenceMatcher(None, new_obs, representative).
                    if (representatives.get(k).ratioAtLeast(anchor, threshold)) {
                        found = k;
                    }
                }
                if (found < 0) {
                    found = representatives.size();
                    representatives.add(new DifflibMatcher(anchor));
                }
                clusterOfAnchor[a] = found;
            }
            cluster[r] = clusterOfAnchor[a];
        }
        return cluster;
    }

    /** Row indices sorted by episode (integers by value first, then the rest as text), then t. */
    private static int[] canonicalOrder(int[] episodeOf, List<String> episodes, int[] tOf) {
        int m = episodes.size();
        Integer[] byName = new Integer[m];
        for (int e = 0; e < m; e++) {
            byName[e] = e;
        }
        Arrays.sort(byName, (x, y) -> compareEpisodes(episodes.get(x), episodes.get(y)));
        int[] rank = new int[m];
        for (int k = 0; k < m; k++) {
            rank[byName[k]] = k;
        }
        int n = episodeOf.length;
        long[] keys = new long[n];
        for (int r = 0; r < n; r++) {
            // The rank (< 2^31) above t shifted to [0, 2^32); (episode, t) pairs are unique, so no ties.
            keys[r] = ((long) rank[episodeOf[r]] << 32) | ((long) tOf[r] - Integer.MIN_VALUE);
        }
        Integer[] rows = new Integer[n];
        for (int r = 0; r < n; r++) {
            rows[r] = r;
        }
        Arrays.sort(rows, (x, y) -> Long.compare(keys[x], keys[y]));
        int[] order = new int[n];
        for (int r = 0; r < n; r++) {
            order[r] = rows[r];
        }
        return order;
    }

    private static int compareEpisodes(String a, String b) {
        Long x = integer(a);
        Long y = integer(b);
        if (x != null && y != null) {
            return Long.compare(x, y);
        }
        if (x != null || y != null) {
            return x != null ? -1 : 1;
        }
        return a.compareTo(b);
    }

    private static Long integer(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Step-level advantages over each anchor group's returns; fills clusterSize too. */
    private static void normalizeStepReturns(double[] ret, int[] cluster, int[] clusterSize,
            GigpoConfig config, double[] out) {
        int n = ret.length;
        int k = clusterSize.length;
        double[] sum = new double[k];
        boolean[] unequal = new boolean[k];
        double[] first = new double[k];
        for (int r = 0; r < n; r++) {
            int c = cluster[r];
            if (clusterSize[c]++ == 0) {
                first[c] = ret[r];
            } else if (ret[r] != first[c]) {
                unequal[c] = true;
            }
            sum[c] += ret[r];
        }
        // Singleton groups and groups of equal returns keep A_S = 0 exactly.
        double[] mean = new double[k];
        for (int c = 0; c < k; c++) {
            mean[c] = sum[c] / clusterSize[c];
        }
        if (config.mode() == GigpoMode.MEAN_NORM) {
            for (int r = 0; r < n; r++) {
                int c = cluster[r];
                if (unequal[c]) {
                    out[r] = ret[r] - mean[c];
                }
            }
            return;
        }
        double[] squares = new double[k];
        for (int r = 0; r < n; r++) {
            int c = cluster[r];
            if (unequal[c]) {
                double d = ret[r] - mean[c];
                squares[c] += d * d;
            }
        }
        double[] denominator = new double[k];
        for (int c = 0; c < k; c++) {
            if (unequal[c]) {
                denominator[c] = Math.sqrt(squares[c] / (clusterSize[c] - 1)) + config.epsilon();
            }
        }
        for (int r = 0; r < n; r++) {
            int c = cluster[r];
            if (unequal[c]) {
                out[r] = (ret[r] - mean[c]) / denominator[c];
            }
        }
    }
}
