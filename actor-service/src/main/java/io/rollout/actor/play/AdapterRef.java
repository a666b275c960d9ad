package io.rollout.actor.play;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * The adapter version players sample with, swappable by another thread at any time. A player
 * takes a {@link Lease} once per generation round and closes it after the round, so a swap
 * takes effect from the next round and every step records the version that generated it.
 * A replaced version is handed to the {@code onUnused} callback (which closes its adapter,
 * say) once no lease on it is open any more; never while a round still samples with it.
 */
public final class AdapterRef {

    private final Consumer<AdapterVersion> onUnused;
    private Holder current;

    /** A reference that never releases anything: the caller owns the adapters. */
    public AdapterRef(AdapterVersion initial) {
        this(initial, v -> { });
    }

    /**
     * @param onUnused called once per replaced version, when its last lease is closed (or at
     *     once by {@link #set} if none is open), on the thread that closes it
     */
    public AdapterRef(AdapterVersion initial, Consumer<AdapterVersion> onUnused) {
        this.onUnused = Objects.requireNonNull(onUnused, "onUnused");
        this.current = new Holder(Objects.requireNonNull(initial, "initial"));
    }

    /** A reference holding the base model (version 0). */
    public static AdapterRef base() {
        return new AdapterRef(AdapterVersion.BASE);
    }

    /** The current version, without a lease: for reading its number. */
    public synchronized AdapterVersion get() {
        return current.version;
    }

    /** Leases the current version: its adapter stays open until the lease is closed. */
    public synchronized Lease acquire() {
        current.leases++;
        return new Lease(current);
    }

    /** Makes {@code next} current; the replaced version goes to {@code onUnused} once unleased. */
    public void set(AdapterVersion next) {
        Objects.requireNonNull(next, "next");
        Holder replaced;
        synchronized (this) {
            replaced = current;
            current = new Holder(next);
            replaced.retired = true;
            if (replaced.leases > 0) {
                return;
            }
        }
        onUnused.accept(replaced.version);
    }

    private void release(Holder h) {
        synchronized (this) {
            h.leases--;
            if (h.leases > 0 || !h.retired) {
                return;
            }
        }
        onUnused.accept(h.version);
    }

    /** One round's hold on a version. */
    public final class Lease implements AutoCloseable {
        private final Holder holder;
        private boolean closed;

        private Lease(Holder holder) {
            this.holder = holder;
        }

        public AdapterVersion version() {
            return holder.version;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                release(holder);
            }
        }
    }

    private static final class Holder {
        final AdapterVersion version;
        int leases;
        boolean retired;

        Holder(AdapterVersion version) {
            this.version = version;
        }
    }
}
