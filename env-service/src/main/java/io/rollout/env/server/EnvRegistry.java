package io.rollout.env.server;

import io.rollout.env.EnvInputException;
import io.rollout.env.EnvInputException.Kind;
import io.rollout.env.EnvironmentFactory;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/** The environments a service offers, by name. */
public final class EnvRegistry {

    private final Map<String, EnvironmentFactory> factories = new LinkedHashMap<>();

    public EnvRegistry(Collection<? extends EnvironmentFactory> factories) {
        for (EnvironmentFactory factory : factories) {
            if (this.factories.putIfAbsent(factory.name(), factory) != null) {
                throw new IllegalArgumentException("two environments are named '" + factory.name() + "'");
            }
        }
    }

    /** The factory of {@code name}, or UNKNOWN_ENV naming the ones there are. */
    public EnvironmentFactory get(String name) {
        EnvironmentFactory factory = factories.get(name);
        if (factory == null) {
            throw new EnvInputException(Kind.UNKNOWN_ENV,
                    "unknown environment '" + name + "'; this service has " + factories.keySet());
        }
        return factory;
    }

    public Collection<EnvironmentFactory> all() {
        return factories.values();
    }
}
