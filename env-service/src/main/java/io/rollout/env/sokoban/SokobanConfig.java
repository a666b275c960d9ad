package io.rollout.env.sokoban;

import io.rollout.env.EnvConfig;
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
 */
public record SokobanConfig(int dimX, int dimY, int numBoxes, int maxSteps, int searchDepth) {

    public static final String DIM_X = "dim_x";
    public static final String DIM_Y = "dim_y";
    public static final String NUM_BOXES = "num_boxes";
    public static final String MAX_STEPS = "max_steps";
    public static final String SEARCH_DEPTH = "search_depth";

    public static final int MIN_DIM = 5;
    public static final int MAX_DIM = 12;
    public static final int MAX_NUM_BOXES = 4;
    public static final int MAX_MAX_STEPS = 200;
    public static final int MAX_SEARCH_DEPTH = 300;

    private static final SokobanConfig DEFAULTS = new SokobanConfig(6, 6, 1, 15, 30);

    public SokobanConfig {
        check(DIM_X, dimX, MIN_DIM, MAX_DIM);
        check(DIM_Y, dimY, MIN_DIM, MAX_DIM);
        check(NUM_BOXES, numBoxes, 1, MAX_NUM_BOXES);
        check(MAX_STEPS, maxSteps, 1, MAX_MAX_STEPS);
        check(SEARCH_DEPTH, searchDepth, 1, MAX_SEARCH_DEPTH);
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
        return new SokobanConfig(
                config.intValue(DIM_X, DEFAULTS.dimX, MIN_DIM, MAX_DIM),
                config.intValue(DIM_Y, DEFAULTS.dimY, MIN_DIM, MAX_DIM),
                config.intValue(NUM_BOXES, DEFAULTS.numBoxes, 1, MAX_NUM_BOXES),
                config.intValue(MAX_STEPS, DEFAULTS.maxSteps, 1, MAX_MAX_STEPS),
                config.intValue(SEARCH_DEPTH, DEFAULTS.searchDepth, 1, MAX_SEARCH_DEPTH));
    }

    /** These settings as config key/value text, in a fixed order; unmodifiable. */
    public Map<String, String> asMap() {
        Map<String, String> map = new LinkedHashMap<>();
        map.put(DIM_X, Integer.toString(dimX));
        map.put(DIM_Y, Integer.toString(dimY));
        map.put(NUM_BOXES, Integer.toString(numBoxes));
        map.put(MAX_STEPS, Integer.toString(maxSteps));
        map.put(SEARCH_DEPTH, Integer.toString(searchDepth));
        return Collections.unmodifiableMap(map);
    }

    private static void check(String key, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(key + "=" + value + " is out of range [" + min + ", " + max + "]");
        }
    }
}
