package io.rollout.env.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.rollout.env.EnvironmentFactory;
import io.rollout.env.StepResult;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * env-service's meters: sessions open, created and expired, steps, step latency,
 * batched step and session requests and their items, finished episodes and errors by kind. Tags are bounded: environment names come from
 * the registry, error kinds from a fixed set.
 */
final class EnvMetrics implements MeterBinder {

    private final SessionManager sessions;
    private final Map<String, Timer> stepLatency = new ConcurrentHashMap<>();
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private MeterRegistry registry;

    EnvMetrics(SessionManager sessions) {
        this.sessions = sessions;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        for (EnvironmentFactory factory : sessions.registry().all()) {
            String env = factory.name();
            Gauge.builder("env.sessions.open", sessions, s -> s.openByEnv().getOrDefault(env, 0))
                    .description("Sessions currently open").tag("env", env).register(registry);
            stepLatency.put(env, Timer.builder("env.step.latency")
                    .description("Time to apply one step, server side")
                    .tag("env", env)
                    .publishPercentileHistogram()
                    .register(registry));
        }
        sessions.onExpired(env -> counter("env.sessions.expired", "Sessions closed after being idle past the TTL",
                "env", env).increment());
    }

    void sessionCreated(String env) {
        counter("env.sessions.opened", "Sessions opened", "env", env).increment();
    }

    void step(String env, StepResult result, long nanos) {
        stepLatency.get(env).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        counter("env.steps", "Steps applied", "env", env, "action_valid", Boolean.toString(result.actionValid()))
                .increment();
        if (result.done()) {
            counter("env.episodes.finished", "Episodes that reached done", "env", env, "won",
                    Boolean.toString(result.won())).increment();
        }
    }

    /** A {@code POST /v1/steps} request of {@code items} steps; each item is also counted by {@link #step}. */
    void stepBatch(int items) {
        counter("env.step.batches", "Batched step requests (POST /v1/steps)").increment();
        counter("env.step.batch.items", "Steps requested in batched step requests, applied or not").increment(items);
    }

    /**
     * A {@code POST /v1/sessions/batch} ({@code op} create) or {@code /close} ({@code op} close)
     * request of {@code items} sessions; each created item is also counted by {@link #sessionCreated}.
     */
    void sessionBatch(String op, int items) {
        counter("env.session.batches", "Batched session requests (POST /v1/sessions/batch and /close)", "op", op)
                .increment();
        counter("env.session.batch.items", "Sessions named in batched session requests, done or not", "op", op)
                .increment(items);
    }

    void error(String kind) {
        counter("env.errors", "Requests answered with an error, by kind", "kind", kind).increment();
    }

    private Counter counter(String name, String description, String... tags) {
        String key = name + String.join(",", tags);
        return counters.computeIfAbsent(key, k -> Counter.builder(name).description(description).tags(tags)
                .register(registry));
    }
}
