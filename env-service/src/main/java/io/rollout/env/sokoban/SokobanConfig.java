package io.rollout.env.sokoban;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Validated Sokoban settings, named as in verl-agent's config so a task's config carries over.
 *
 * @param dimX        room height in cells including the border wall (gym-sokoban's {@code dim_room[0]}, the rows)
 * @param dimY        room width in cells including the border wall (the columns)
 * @param numBoxes    boxes, and as many targets
 * @param maxSteps    valid actions allowed per episode; every generated level is solvable within it
 * @param searchDepth most reverse moves the generator plays back from the solved position
 * @param playerWalk  most steps of verl-agent's random walk of the player after the reverse play
 *                    (0: no walk, as gym-sokoban; verl-agent walks up to 3)
 * @param minSolution fewest moves a level's shortest solution may take; shorter levels are
 *                    rejected and the generator tries again (0 or 1: any level)
 */
public record SokobanConfig(int dimX, int dimY, int numBoxes, int maxSteps, int searchDepth, int playerWalk,
        int minSolution) {

    public static final String DIM_X = "dim_x";
    public static final String DIM_Y = "dim_y";
    public static final String NUM_BOXES = "num_boxes";
    public static final String MAX_STEPS = "max_steps";
    public static final String SEARCH_DEPTH = "search_depth";
    public static final String PLAYER_WALK = "player_walk";
    public static final String MIN_SOLUTION = "min_solution";

    public static final int MIN_DIM = 5;
    public static final int MAX_DIM = 12;
    public static final int MAX_NUM_BOXES = 4;
    public static final int MAX_MAX_STEPS = 200;
    public static final int MAX_SEARCH_DEPTH = 300;
    public static final int MAX_PLAYER_WALK = 10;

    private static final SokobanConfig DEFAULTS = new SokobanConfig(6, 6, 1, 15, 30, 0, 0);

    public SokobanConfig {
        check(DIM_X, dimX, MIN_DIM, MAX_DIM);
        check(DIM_Y, dimY, MIN_DIM, MAX_DIM);
        check(NUM_BOXES, numBoxes, 1, MAX_NUM_BOXES);
        check(MAX_STEPS, maxSteps, 1, MAX_MAX_STEPS);
        check(SEARCH_DEPTH, searchDepth, 1, MAX_SEARCH_DEPTH);
        check(PLAYER_WALK, playerWalk, 0, MAX_PLAYER_WALK);
        check(MIN_SOLUTION, minSolution, 0, maxSteps);
    }

    /** The first five settings, with no player walk and no minimum solution length (gym-sokoban's levels). */
    public SokobanConfig(int dimX, int dimY, int numBoxes, int maxSteps, int searchDepth) {
        this(dimX, dimY, numBoxes, maxSteps, searchDepth, 0, 0);
    }

    public static SokobanConfig defaults() {
        return DEFAULTS;
    }

    /**
     * Reads and validates an environment config: unknown keys are UNKNOWN_CONFIG_KEY, values
     * that are not integers or out of range are BAD_CONFIG_VALUE; missing keys take the defaults.
     */
    public static SokobanConfig from(EnvConfig config) {
        config.requireKnown(SokobanFactory.NAME, DEFAULTS.asMap().keySet());
        int maxSteps = config.intValue(MAX_STEPS, DEFAULTS.maxSteps, 1, MAX_MAX_STEPS);
        int minSolution = config.intValue(MIN_SOLUTION, DEFAULTS.minSolution, 0, MAX_MAX_STEPS);
        if (minSolution > maxSteps) {
            throw new EnvInputException(Kind.BAD_CONFIG_VALUE, "config " + MIN_SOLUTION + "=" + minSolution
                    + " exceeds " + MAX_STEPS + "=" + maxSteps + ": no level could be solved in time");
        }
        return new SokobanConfig(
                config.intValue(DIM_X, DEFAULTS.dimX, MIN_DIM, MAX_DIM),
                config.intValue(DIM_Y, DEFAULTS.dimY, MIN_DIM, MAX_DIM),
                config.intValue(NUM_BOXES, DEFAULTS.numBoxes, 1, MAX_NUM_BOXES),
                maxSteps,
                config.intValue(SEARCH_DEPTH, DEFAULTS.searchDepth, 1, MAX_SEARCH_DEPTH),
                config.intValue(PLAYER_WALK, DEFAULTS.playerWalk, 0, MAX_PLAYER_WALK),
                minSolution);
    }

    /** These settings as config key/value text, in a fixed order; unmodifiable. */
    public Map<String, String> asMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put(DIM_X, Integer.toString(dimX));
        map.put(DIM_Y, Integer.toString(dimY));
        map.put(NUM_BOXES, Integer.toString(numBoxes));
        map.put(MAX_STEPS, Integer.toString(maxSteps));
        map.put(SEARCH_DEPTH, Integer.toString(searchDepth));
        map.put(PLAYER_WALK, Integer.toString(playerWalk));
        map.put(MIN_SOLUTION, Integer.toString(minSolution));
        return Collections.unmodifiableMap(map);
    }

    private static void check(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(key + "=" + value + " is out of range [" + min + ", " + max + "]");
        }
    }
}
