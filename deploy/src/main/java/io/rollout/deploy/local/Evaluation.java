package io.rollout.deploy.local;

import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.BatchGenerator;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.policy.sampling.Completion;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

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

    /**
     * A generator that answers every prompt with a uniformly random word of {@code moves}, seeded:
     * the reference a policy that has learnt only the answer format is measured against.
     */
    static BatchGenerator randomMoves(List<String> moves, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return (prompts, params, adapter) -> {
            List<Completion> out = new ArrayList<>(prompts.size());
            for (int i = 0; i < prompts.size(); i++) {
                out.add(new Completion(new int[0], new float[0], moves.get(random.nextInt(moves.size())),
                        Completion.FinishReason.STOP_TOKEN));
            }
            return out;
        };
    }

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
