package io.rollout.env.household;

import io.rollout.env.Environment;
import io.rollout.env.EnvironmentFactory;
import java.util.Map;

/**
 * Registers the {@code household} environment. Config keys: {@code receptacles} (3..30,
 * default 8), {@code distractors} (extra objects, 0..40, default 4), {@code goal_types}
 * (comma-separated subset of the {@link GoalType} names, default all) and {@code max_steps}
 * (1..200, default 30).
 */
public final class HouseholdFactory implements EnvironmentFactory {

    @Override
    public String name() {
        return HouseholdEnvironment.NAME;
    }

    @Override
    public String description() {
        return "ALFWorld-style text household: go to, open, take, clean/heat/cool and put objects to reach a goal";
    }

    @Override
    public Map<String, String> configDefaults() {
        return HouseholdConfig.DEFAULTS;
    }

    @Override
    public Environment create() {
        return new HouseholdEnvironment();
    }
}
