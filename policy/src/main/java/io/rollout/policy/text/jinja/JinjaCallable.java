package io.rollout.policy.text.jinja;

/** Anything a template can call: a global function, a bound method, a macro. */
@FunctionalInterface
interface JinjaCallable {

    Object call(Args args);
}
