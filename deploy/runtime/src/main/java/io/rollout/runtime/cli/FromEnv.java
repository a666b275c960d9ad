package io.rollout.runtime.cli;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an {@code @Option} of a shared mixin that a command may take from its environment: a
 * command whose model transformer is an {@link EnvDefaults} reads it from its own variable
 * (prefix and option name, e.g. {@code ACTOR_BOOTSTRAP}); any other command ignores the mark.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.FIELD)
public @interface FromEnv {
}
