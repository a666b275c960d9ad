package io.rollout.deploy.local;

import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The held-out evaluation: one episode on each of {@code levels} fixed seeds, disjoint from the
 * training seeds, played with the same player (format, sampling temperature, seeded) in
 * batches of {@code batch} levels. Success rate and mean return over the episodes; an episode
 * ended by an infrastructure error counts as a failure, so the rate never looks better than it
 * is.
 */
final class Evaluation {

    /** The outcome of one evaluation. */
    record Result(long version, int episodes, int successes, double meanReturn, double seconds) {
        double successRate() {
            return episodes == 0 ? 0 : (double) successes / episodes;
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", version);
            m.put("success_rate", successRate());
            m.put("mean_return", meanReturn);
            m.put("episodes", episodes);
            m.put("successes", successes);
            m.put("seconds", seconds);
            return m;
        }
    }

    private Evaluation() {}

    static Result run(GroupPlayer player, Task template, long firstSeed, int levels, int batch, AdapterRef adapter) {
        long start = System.nanoTime();
        int successes = 0;
        double returns = 0;
        int episodes = 0;
        for (int from = 0; from < levels; from += batch) {
            int n = Math.min(batch, levels - from);
            long[] seeds = new long[n];
            for (int i = 0; i < n; i++) {
                seeds[i] = firstSeed + from + i;
            }
            double[] ret = new double[n];
            boolean[] won = new boolean[n];
            Task task = Task.newBuilder(template).setGroupId(template.getGroupId() + "-" + from).build();
            player.playEach(task, seeds, adapter, (Step s) -> {
                ret[s.getEpisode()] += s.getReward();
                if (s.getDone() && s.getTerminalReason() == TerminalReason.SUCCESS) {
                    won[s.getEpisode()] = true;
                }
            });
            for (int i = 0; i < n; i++) {
                successes += won[i] ? 1 : 0;
            }
            returns += Arrays.stream(ret).sum();
            episodes += n;
        }
        return new Result(adapter.get().version(), episodes, successes, episodes == 0 ? 0 : returns / episodes,
                (System.nanoTime() - start) / 1e9);
    }
}
