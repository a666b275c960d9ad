package io.rollout.actor;

import io.rollout.env.EnvConfig;
import io.rollout.env.Environment;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import java.util.Map;

/**
 * {@code huge}: an environment whose first step answers an observation with an anchor of
 * {@code bytes} characters (a web page, say), too big for one Kafka record; the start state is
 * small. Episodes never end by themselves.
 */
public final class HugeObservationFactory implements EnvironmentFactory {

    public static final String NAME = "huge";

    private final int bytes;

    public HugeObservationFactory(int bytes) {
        this.bytes = bytes;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "answers one observation too big for a Kafka record";
    }

    @Override
    public Map<String, String> configDefaults() {
        return Map.of();
    }

    @Override
    public Environment create() {
        return new Environment() {
            @Override
            public String name() {
                return NAME;
            }

            @Override
            public Observation reset(long seed, EnvConfig config) {
                return Observation.ofState("a small room");
            }

            @Override
            public StepResult step(String action) {
                return new StepResult(new Observation("a vast room", "x".repeat(bytes), java.util.List.of()), 0,
                        false, false, true);
            }
        };
    }
}
