package io.rollout.actor.delivery;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * The tasks taken from one partition and not yet committed, in offset order, with the offset
 * last committed. Tasks finish in any order; the offset that may be committed is the one after
 * the longest run of done tasks from the oldest ({@link #frontier()}), so a crash re-delivers
 * every task whose steps might be incomplete and no task is committed before one older than it.
 * Not thread-safe: the actor's poll thread owns it.
 *
 * @param <J> the task handle
 */
public final class PartitionProgress<J> {

    private final TreeMap<Long, J> pending = new TreeMap<>();
    private final Predicate<J> done;
    private long committed;

    /**
     * @param committed the offset committed when the partition was claimed
     * @param done whether a task's offset may be committed
     */
    public PartitionProgress(long committed, Predicate<J> done) {
        if (committed < 0) {
            throw new IllegalArgumentException("committed offset must be >= 0, got " + committed);
        }
        this.committed = committed;
        this.done = done;
    }

    /** Adds a task taken at {@code offset}; offsets must grow and lie at or above the committed one. */
    public void add(long offset, J job) {
        if (offset < committed || (!pending.isEmpty() && offset <= pending.lastKey())) {
            throw new IllegalArgumentException("offset " + offset + " is not after the tasks taken (committed "
                    + committed + ", last " + (pending.isEmpty() ? "none" : pending.lastKey()) + ")");
        }
        pending.put(offset, job);
    }

    /** The offset after the longest run of done tasks from the oldest; empty if the oldest is not done. */
    public OptionalLong frontier() {
        Long next = null;
        for (Map.Entry<Long, J> e : pending.entrySet()) {
            if (!done.test(e.getValue())) {
                break;
            }
            next = e.getKey() + 1;
        }
        return next == null ? OptionalLong.empty() : OptionalLong.of(next);
    }

    /** Records a commit of {@code offset}: the tasks below it are forgotten. */
    public void committed(long offset) {
        if (offset < committed) {
            throw new IllegalArgumentException("commit of " + offset + " is below the committed " + committed);
        }
        committed = offset;
        pending.headMap(offset).clear();
    }

    /** The offset last committed. */
    public long committedOffset() {
        return committed;
    }

    /** The tasks not yet committed, oldest first. */
    public List<J> pending() {
        return new ArrayList<>(pending.values());
    }

    /** Those of {@link #pending()} that are not done. */
    public List<J> notDone() {
        return pending.values().stream().filter(done.negate()).toList();
    }

    public boolean isEmpty() {
        return pending.isEmpty();
    }
}
