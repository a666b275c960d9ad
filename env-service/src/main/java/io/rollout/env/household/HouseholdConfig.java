package io.rollout.env.household;

import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The household's difficulty settings, read and validated from an {@link EnvConfig}.
 *
 * @param receptacles how many receptacles the household has
 * @param distractors how many objects it holds besides the goal's
 * @param goalTypes   the task families to draw from, in {@link GoalType} order so that
 *                    "a,b" and "b,a" give the same tasks
 * @param maxSteps    the steps after which an unsolved episode ends
 */
record HouseholdConfig(int receptacles, int distractors, List<GoalType> goalTypes, int maxSteps) {

    static final String RECEPTACLES = "receptacles";
    static final String DISTRACTORS = "distractors";
    static final String GOAL_TYPES = "goal_types";
    static final String MAX_STEPS = "max_steps";

    static final int DEFAULT_RECEPTACLES = 8;
    static final int DEFAULT_DISTRACTORS = 4;
    static final int DEFAULT_MAX_STEPS = 30;
    static final String ALL_GOAL_TYPES = Arrays.stream(GoalType.values())
            .map(GoalType::configName).collect(Collectors.joining(","));

    /** Every key with its default, in a fixed order. */
    static final Map<String, String> DEFAULTS;

    static {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put(RECEPTACLES, Integer.toString(DEFAULT_RECEPTACLES));
        defaults.put(DISTRACTORS, Integer.toString(DEFAULT_DISTRACTORS));
        defaults.put(GOAL_TYPES, ALL_GOAL_TYPES);
        defaults.put(MAX_STEPS, Integer.toString(DEFAULT_MAX_STEPS));
        DEFAULTS = Collections.unmodifiableMap(defaults);
    }

    HouseholdConfig {
        goalTypes = List.copyOf(goalTypes);
    }

    static HouseholdConfig from(EnvConfig config) {
        config.requireKnown(HouseholdEnvironment.NAME, DEFAULTS.keySet());
        return new HouseholdConfig(
                config.intValue(RECEPTACLES, DEFAULT_RECEPTACLES, 3, 30),
                config.intValue(DISTRACTORS, DEFAULT_DISTRACTORS, 0, 40),
                goalTypes(config.string(GOAL_TYPES, ALL_GOAL_TYPES)),
                config.intValue(MAX_STEPS, DEFAULT_MAX_STEPS, 1, 200));
    }

    /** Comma-separated goal type names; "all" stands for every type. */
    static List<GoalType> goalTypes(String raw) {
        EnumSet<GoalType> chosen = EnumSet.noneOf(GoalType.class);
        for (String part : raw.split(",", -1)) {
            String name = part.strip().toLowerCase(Locale.ROOT);
            if (name.isEmpty()) {
                continue;
            }
            if (name.equals("all")) {
                chosen.addAll(EnumSet.allOf(GoalType.class));
                continue;
            }
            Optional<GoalType> type = GoalType.fromConfigName(name);
            if (type.isEmpty()) {
                throw new EnvInputException(Kind.BAD_CONFIG_VALUE, "config " + GOAL_TYPES + " names unknown goal type '"
                        + name + "'; known: " + ALL_GOAL_TYPES + " (or all)");
            }
            chosen.add(type.get());
        }
        if (chosen.isEmpty()) {
            throw new EnvInputException(Kind.BAD_CONFIG_VALUE,
                    "config " + GOAL_TYPES + "='" + raw + "' names no goal type; known: " + ALL_GOAL_TYPES);
        }
        return List.copyOf(chosen);
    }
}
