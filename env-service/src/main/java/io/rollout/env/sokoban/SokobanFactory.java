package io.rollout.env.sokoban;

import io.rollout.env.Environment;
import io.rollout.env.EnvironmentFactory;
import java.util.Map;

/** Registers {@link SokobanEnvironment} under the name {@code sokoban}. */
public final class SokobanFactory implements EnvironmentFactory {

    public static final String NAME = "sokoban";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Text Sokoban (verl-agent/gym-sokoban rules and level generator): push every box onto a target;"
                + " each level comes from its seed and is solvable within max_steps";
    }

    @Override
    public Map<String, String> configDefaults() {
        return SokobanConfig.defaults().asMap();
    }

    @Override
    public Environment create() {
        return new SokobanEnvironment();
    }
}
