package io.rollout.env.cli;

import io.rollout.env.EnvironmentFactory;
import io.rollout.env.household.HouseholdFactory;
import io.rollout.env.sokoban.SokobanFactory;
import java.util.List;

/** The environments every env-service offers, before any remote ones are added. */
final class Environments {

    private Environments() {
    }

    static List<EnvironmentFactory> builtIn() {
        return List.of(new SokobanFactory(), new HouseholdFactory());
    }
}
