package io.rollout.actor.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a service the actor depends on (env-service, the Kafka cluster) answers: the actor is
 * not ready while one does not, and takes no new task. Meters: the gauge
 * {@code rollout.actor.<name>.available} (1 or 0) and the counter
 * {@code rollout.actor.<name>.outages} (times it went from available to not).
 */
final class Dependency {

    private static final Logger LOG = LoggerFactory.getLogger(Dependency.class);

    private final String name;
    private final String actorId;
    private final LongSupplier nanoClock;
    private final Counter outages;
    private boolean up = true;
    private long downSinceNanos;

    Dependency(String name, String description, String actorId, MeterRegistry registry, LongSupplier nanoClock) {
        this.name = name;
        this.actorId = actorId;
        this.nanoClock = nanoClock;
        Gauge.builder("rollout.actor." + name + ".available", this, d -> d.isUp() ? 1 : 0)
                .description("1 while " + description + " answers, 0 during an outage").register(registry);
        this.outages = Counter.builder("rollout.actor." + name + ".outages")
                .description("Outages of " + description + " the actor met").register(registry);
    }

    synchronized boolean isUp() {
        return up;
    }

    /** Marks it unavailable; true if it was available until now (a new outage, logged and counted). */
    boolean down(String why) {
        synchronized (this) {
            if (!up) {
                return false;
            }
            up = false;
            downSinceNanos = nanoClock.getAsLong();
        }
        outages.increment();
        LOG.warn("actor {}: {} is unavailable ({}); not ready, taking no new task until it answers", actorId, name,
                why);
        return true;
    }

    /** Marks it available again; wakes those waiting in {@link #awaitUp}. */
    void up() {
        long downNanos;
        synchronized (this) {
            if (up) {
                return;
            }
            up = true;
            downNanos = nanoClock.getAsLong() - downSinceNanos;
            notifyAll();
        }
        LOG.info("actor {}: {} answers again after {} ms; ready", actorId, name,
                TimeUnit.NANOSECONDS.toMillis(downNanos));
    }

    /** Waits up to {@code millis} for it to be available; true if it is. */
    synchronized boolean awaitUp(long millis) throws InterruptedException {
        if (!up && millis > 0) {
            wait(millis);
        }
        return up;
    }
}
