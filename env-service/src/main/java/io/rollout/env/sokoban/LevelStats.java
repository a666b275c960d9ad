package io.rollout.env.sokoban;

import io.rollout.env.SeededRandom;
import java.util.Map;
import java.util.TreeMap;

/**
 * How hard a range of Sokoban levels is: the distribution of their shortest solutions and the
 * success rate of a player that moves uniformly at random (each of up, down, left, right with
 * probability 1/4 at every step, {@code max_steps} moves per episode). A policy must beat the
 * random mover by a wide margin before its success says it reads the board.
 *
 * @param levels levels measured
 * @param solutionLengths shortest-solution moves, to the number of levels with that length
 * @param meanSolution mean shortest-solution moves
 * @param randomSuccess share of random-move episodes that solved their level
 * @param randomEpisodes random-move episodes played per level
 */
public record LevelStats(int levels, Map<Integer, Integer> solutionLengths, double meanSolution,
        double randomSuccess, int randomEpisodes) {

    /**
     * Measures the levels of seeds {@code firstSeed .. firstSeed + levels - 1} under {@code config},
     * with {@code randomEpisodes} random-move episodes per level drawn from {@code randomSeed}.
     */
    public static LevelStats measure(SokobanConfig config, long firstSeed, int levels, int randomEpisodes,
            long randomSeed) {
        if (levels < 1 || randomEpisodes < 0) {
            throw new IllegalArgumentException("need levels >= 1 and randomEpisodes >= 0, got " + levels + " and "
                    + randomEpisodes);
        }
        SokobanGenerator generator = new SokobanGenerator();
        SokobanSolver solver = new SokobanSolver();
        SeededRandom random = new SeededRandom(randomSeed);
        Direction[] moves = Direction.values();
        Map<Integer, Integer> lengths = new TreeMap<>();
        long solutionSum = 0;
        long wins = 0;
        for (int i = 0; i < levels; i++) {
            SokobanLevel start = generator.generate(firstSeed + i, config);
            int length = solver.shortestSolutionLength(start, config.maxSteps()).orElseThrow(
                    () -> new IllegalStateException("generated level not solvable within max_steps"));
            lengths.merge(length, 1, Integer::sum);
            solutionSum += length;
            for (int e = 0; e < randomEpisodes; e++) {
                SokobanLevel level = start;
                for (int step = 0; step < config.maxSteps() && !level.isSolved(); step++) {
                    level = level.move(moves[random.nextInt(moves.length)]);
                }
                wins += level.isSolved() ? 1 : 0;
            }
        }
        return new LevelStats(levels, Map.copyOf(lengths), (double) solutionSum / levels,
                randomEpisodes == 0 ? 0 : (double) wins / ((long) levels * randomEpisodes), randomEpisodes);
    }

    /** The share of levels whose shortest solution takes at least {@code moves}. */
    public double shareAtLeast(int moves) {
        return solutionLengths.entrySet().stream().filter(e -> e.getKey() >= moves).mapToInt(Map.Entry::getValue)
                .sum() / (double) levels;
    }
}
