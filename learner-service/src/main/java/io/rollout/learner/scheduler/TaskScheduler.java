package io.rollout.learner.scheduler;

import io.rollout.learner.scheduler.SchedulerState.Group;
import io.rollout.records.Task;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Decides which tasks to produce and when, without Kafka: the caller feeds it the trainer's
 * version, drops, trained and discarded groups, and the time.
 *
 * <p><b>Admission rule.</b> A group may be dispatched iff
 * {@code inFlight < maxInFlight} and {@code inFlight < (maxStaleness + 1) * batchGroups}.
 * Groups are trained roughly in dispatch order, B per policy version, so a group dispatched
 * while f groups are already in flight is trained about {@code floor(f / B)} versions after
 * its dispatch; keeping {@code f < (maxStaleness + 1) * B} keeps that lag within
 * {@code maxStaleness}. And every task carries the trainer's version at dispatch, so no task
 * is produced for a version the trainer has already left behind.
 *
 * <p><b>Attempts.</b> A group that is dropped (its current attempt) or stays in flight longer
 * than the task timeout is re-queued as the next attempt with the same env, config, seed and
 * sizes, and goes out before any new group. After {@code maxRetries} re-queues it is
 * abandoned. A group leaves for good when the trainer trained on it or discarded it.
 *
 * <p>Thread-safe: every method is synchronized.
 */
public final class TaskScheduler {

    private final SchedulerConfig config;
    private final TaskDistribution distribution;
    private final long runSeed;

    private long nextIndex;
    /** The next index of the state last loaded: lower groups it does not know have finished. */
    private long restoredIndex;
    /** In dispatch order (a re-queued group moves to the end). */
    private final Map<String, Group> inFlight = new LinkedHashMap<>();
    private final ArrayDeque<Group> pending = new ArrayDeque<>();
    private long dispatched;
    private long requeued;
    private long abandoned;
    private long staleDrops;
    private long discarded;
    private long timedOut;
    private long trained;

    /** A new run: nothing in flight, the first group is index 0. */
    public TaskScheduler(SchedulerConfig config, TaskDistribution distribution, long runSeed) {
        if (config == null || distribution == null) {
            throw new IllegalArgumentException("config and distribution must be set");
        }
        this.config = config;
        this.distribution = distribution;
        this.runSeed = runSeed;
    }

    /**
     * A scheduler that continues from {@code state}.
     *
     * @throws IllegalArgumentException if a group of the state is not a group of {@code config}'s run
     */
    public static TaskScheduler restore(SchedulerConfig config, TaskDistribution distribution, long runSeed,
            SchedulerState state) {
        TaskScheduler scheduler = new TaskScheduler(config, distribution, runSeed);
        scheduler.load(state);
        return scheduler;
    }

    /** Replaces this scheduler's state by {@code state}. */
    synchronized void load(SchedulerState state) {
        for (List<Group> groups : List.of(state.inFlight(), state.pending())) {
            for (Group g : groups) {
                if (g.index() < 0 || !config.groupId(g.index()).equals(g.groupId()) || g.index() >= state.nextIndex()) {
                    throw new IllegalArgumentException("group " + g.groupId() + " (index " + g.index()
                            + ") is no group below index " + state.nextIndex() + " of run '" + config.runId() + "'");
                }
            }
        }
        nextIndex = state.nextIndex();
        restoredIndex = nextIndex;
        inFlight.clear();
        state.inFlight().forEach(g -> inFlight.put(g.groupId(), g));
        pending.clear();
        pending.addAll(state.pending());
        SchedulerCounters c = state.counters();
        dispatched = c.dispatched();
        requeued = c.requeued();
        abandoned = c.abandoned();
        staleDrops = c.staleDrops();
        discarded = c.discarded();
        timedOut = c.timedOut();
        trained = c.trained();
    }

    /**
     * The tasks to produce now: first re-queues groups in flight longer than the task
     * timeout, then dispatches pending re-queues (oldest first), then new groups, while the
     * admission rule allows.
     *
     * @param trainerVersion the trainer's current policy version, stamped on every task
     * @param nowMs          the current time (epoch ms), stamped on every task
     */
    public synchronized List<Task> poll(long trainerVersion, long nowMs) {
        long timeoutMs = config.taskTimeout().toMillis();
        if (timeoutMs > 0) {
            List<Group> expired = inFlight.values().stream()
                    .filter(g -> nowMs - g.dispatchedAtMs() > timeoutMs).toList();
            for (Group g : expired) {
                timedOut++;
                requeueOrAbandon(g, "timed out " + (g.requeues() + 1) + " times (task timeout " + config.taskTimeout()
                        + ")");
            }
        }
        List<Task> tasks = new ArrayList<>();
        while (admits() && !pending.isEmpty()) {
            tasks.add(dispatch(pending.poll(), trainerVersion, nowMs));
        }
        while (admits()) {
            long index = nextIndex++;
            TaskDraw draw = distribution.draw(runSeed, index);
            TaskSource s = draw.source();
            Group g = new Group(config.groupId(index), index, 0, 0, nowMs, s.env(), s.envConfig(), draw.seed(),
                    s.groupSize(), s.maxSteps());
            tasks.add(dispatch(g, trainerVersion, nowMs));
        }
        return tasks;
    }

    private boolean admits() {
        return inFlight.size() < config.admissionLimit();
    }

    private Task dispatch(Group g, long trainerVersion, long nowMs) {
        Group sent = g.dispatchedAt(nowMs);
        inFlight.put(sent.groupId(), sent);
        dispatched++;
        return sent.toTask(trainerVersion, nowMs);
    }

    private void requeueOrAbandon(Group g, String why) {
        inFlight.remove(g.groupId());
        if (g.requeues() < config.maxRetries()) {
            pending.add(g.withAttempt(g.attempt() + 1, g.requeues() + 1, g.dispatchedAtMs()));
            requeued++;
        } else {
            abandoned++;
            abandonListener.abandoned(g.groupId(), g.attempt(), "given up after " + config.maxRetries()
                    + " re-queues; the last attempt " + why);
        }
    }

    /** Told when a group is given up for good; e.g. the trainer's audit log. */
    @FunctionalInterface
    public interface AbandonListener {
        void abandoned(String groupId, int attempt, String reason);
    }

    private AbandonListener abandonListener = (groupId, attempt, reason) -> { };

    /** Replaces the abandon listener (called under this scheduler's lock: keep it short). */
    public synchronized void onAbandon(AbandonListener listener) {
        this.abandonListener = listener;
    }

    /**
     * The advantage stage dropped attempt {@code attempt} of a group. If that attempt is in
     * flight the group is re-queued as the next attempt, or abandoned once it has been
     * re-queued {@code maxRetries} times. A drop of an unknown group or of another attempt
     * (already re-queued, say) is ignored and counted as stale.
     *
     * @return whether the drop applied
     */
    public synchronized boolean onDropped(String groupId, int attempt) {
        Group g = inFlight.get(groupId);
        if (g == null || g.attempt() != attempt) {
            staleDrops++;
            return false;
        }
        requeueOrAbandon(g, "was dropped by the advantage stage");
        return true;
    }

    /**
     * The trainer trained on a group. It leaves for good, whichever attempt it is at: the
     * advantage stage ignores steps of a group it has already completed, so a later attempt
     * would yield nothing.
     *
     * @return whether the group was in flight or waiting to be re-queued
     */
    public synchronized boolean onTrained(String groupId, int attempt) {
        boolean known = remove(groupId);
        if (known) {
            trained++;
        }
        return known;
    }

    /**
     * The trainer discarded a group as too stale: it leaves for good, without a re-queue.
     *
     * @return whether the group was in flight or waiting to be re-queued
     */
    public synchronized boolean onDiscarded(String groupId, int attempt) {
        boolean known = remove(groupId);
        if (known) {
            discarded++;
        }
        return known;
    }

    private boolean remove(String groupId) {
        return inFlight.remove(groupId) != null | pending.removeIf(g -> g.groupId().equals(groupId));
    }

    /**
     * Recovery: a task found on the tasks topic after the last checkpoint, i.e. produced
     * before a crash but after the state this scheduler was restored from. A task of this
     * run is marked in flight (a group at a higher attempt than known takes that attempt; a
     * pending re-queue it fulfils leaves the queue) and the next index moves past it. Tasks
     * may come in any order across partitions. Tasks of other runs, of attempts not above the
     * known one, and of unknown groups below the next index of the restored state (they
     * finished before the checkpoint) are ignored.
     *
     * @return whether the task changed the state
     */
    public synchronized boolean recordDispatched(Task task) {
        OptionalLong parsed = config.indexOf(task.getGroupId());
        if (parsed.isEmpty()) {
            return false;
        }
        long index = parsed.getAsLong();
        Group known = inFlight.get(task.getGroupId());
        int counted = 0; // a pending re-queue was counted when it was queued
        if (known == null) {
            Iterator<Group> it = pending.iterator();
            while (it.hasNext()) {
                Group p = it.next();
                if (p.groupId().equals(task.getGroupId()) && task.getAttempt() >= p.attempt()) {
                    it.remove();
                    known = p.withAttempt(p.attempt() - 1, p.requeues() - 1, p.dispatchedAtMs());
                    counted = 1;
                    break;
                }
            }
        }
        if (known != null) {
            if (task.getAttempt() <= known.attempt()) {
                return false;
            }
            int more = task.getAttempt() - known.attempt();
            inFlight.remove(known.groupId());
            inFlight.put(known.groupId(), known.withAttempt(task.getAttempt(), known.requeues() + more,
                    task.getCreatedAtMs()));
            dispatched++;
            requeued += more - counted;
            return true;
        }
        if (index < restoredIndex) {
            return false;
        }
        inFlight.put(task.getGroupId(), Group.of(task, index));
        nextIndex = Math.max(nextIndex, index + 1);
        dispatched++;
        return true;
    }

    /** A consistent copy of the whole state, for a checkpoint. */
    public synchronized SchedulerState snapshot() {
        return new SchedulerState(nextIndex, List.copyOf(inFlight.values()), List.copyOf(pending), counters());
    }

    /** Groups dispatched and not yet trained, discarded, dropped or given up. */
    public synchronized int inFlight() {
        return inFlight.size();
    }

    /** Re-queued groups waiting for a slot. */
    public synchronized int pending() {
        return pending.size();
    }

    public synchronized long nextIndex() {
        return nextIndex;
    }

    public synchronized SchedulerCounters counters() {
        return new SchedulerCounters(dispatched, requeued, abandoned, staleDrops, discarded, timedOut, trained);
    }

    public SchedulerConfig config() {
        return config;
    }
}
