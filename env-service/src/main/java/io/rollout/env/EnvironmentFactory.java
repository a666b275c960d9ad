package io.rollout.env;

import java.util.Map;

/** Makes environments of one kind; the registry holds one factory per environment name. */
public interface EnvironmentFactory {

    /** The name clients ask for, e.g. {@code sokoban}. */
    String name();

    /** One sentence for the environment list. */
    String description();

    /** Every config key the environment accepts, with its default as text. */
    Map<String, String> configDefaults();

    /** A new environment; call {@link Environment#reset} before stepping it. */
    Environment create();
}
