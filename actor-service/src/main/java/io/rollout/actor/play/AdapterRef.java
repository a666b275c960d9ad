package io.rollout.actor.play;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The adapter version a player samples with, swappable by another thread at any time: the
 * player reads it once per generation round, so a swap takes effect from the next round and
 * every step records the version that generated it.
 */
public final class AdapterRef implements Supplier<AdapterVersion> {

    private final AtomicReference<AdapterVersion> current;

    public AdapterRef(AdapterVersion initial) {
        this.current = new AtomicReference<>(Objects.requireNonNull(initial, "initial"));
    }

    /** A reference holding the base model (version 0). */
    public static AdapterRef base() {
        return new AdapterRef(AdapterVersion.BASE);
    }

    @Override
    public AdapterVersion get() {
        return current.get();
    }

    /** Replaces the version; returns the previous one (its adapter is the caller's to close once unused). */
    public AdapterVersion set(AdapterVersion next) {
        return current.getAndSet(Objects.requireNonNull(next, "next"));
    }
}
