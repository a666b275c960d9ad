package io.rollout.deploy.reliability;

import io.rollout.runtime.kafka.KafkaSettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.GroupState;

/**
 * Actors scaled out and in while the pipeline runs, each a process of its own (one broker, one
 * env-service, one advantage app and the trainer shared). It starts with the first of
 * {@link Settings#actorCounts} actors and measures steps/s for {@link Settings#window}, then adds
 * actors up to each next count and measures again. Then, at the largest count, it optionally
 * kills an actor and starts it again at once ({@code restart}), stops one with SIGTERM (SIGKILL
 * after its drain timeout and a margin) and kills another with SIGKILL, leaving the last two
 * out for good. Each membership change is timed from the driver's action: how long the actors'
 * consumer group was not Stable, when it was Stable again with every task partition assigned
 * to the expected members, and the longest stretch without a step on {@code rollout.steps}
 * around it. Then the trainer is stopped and {@link Audit} checks that no dispatched group was
 * lost and none trained twice.
 */
public final class ScaleOutRun {

    /** How long a change may take until the group is Stable with every task partition owned. */
    private static final Duration SETTLE_TIMEOUT = Duration.ofMinutes(3);
    private static final long WATCH_EVERY_MS = 100;
    /** After the group settles, steps are counted only after this much more, so JIT and caches warm up. */
    private static final Duration WARM = Duration.ofSeconds(5);

    /**
     * @param actorCounts the actor counts to measure, increasing; the largest at least 3 so that
     *     one can be stopped and one killed with an actor left
     * @param window how long steps are counted at each count
     * @param restart whether to kill an actor and start it again at once at the largest count
     * @param staticMembership whether actors join with {@code group.instance.id} = their id
     * @param settle quiet time after the last change before the trainer is stopped
     * @param maxInFlight the scheduler's groups in flight: enough that the actors never wait for
     *     a task, since the trainer (on the same cores) trains fewer groups per second than they play
     * @param taskTimeout the scheduler's task timeout: longer than a task waits in the backlog
     * @param quickStart whether the JVMs stop at the C1 compiler (quicker starts, slower steps)
     * @param torchThreads PyTorch's intra-op threads per actor and trainer process, 0 for the default
     */
    public record Settings(Path dir, long seed, List<Integer> actorCounts, Duration window, boolean restart,
            boolean staticMembership, Duration settle, int maxInFlight, Duration taskTimeout,
            boolean quickStart, int torchThreads, int groupsInFlight) {

        public Settings {
            actorCounts = List.copyOf(actorCounts);
            if (maxInFlight < 1) {
                throw new IllegalArgumentException("--max-in-flight must be >= 1, got " + maxInFlight);
            }
            if (groupsInFlight < 1) {
                throw new IllegalArgumentException("--groups-in-flight must be >= 1, got " + groupsInFlight);
            }
            if (actorCounts.isEmpty() || actorCounts.get(0) < 1) {
                throw new IllegalArgumentException("--actors needs counts >= 1, got " + actorCounts);
            }
            for (int i = 1; i < actorCounts.size(); i++) {
                if (actorCounts.get(i) <= actorCounts.get(i - 1)) {
                    throw new IllegalArgumentException("--actors must increase, got " + actorCounts);
                }
            }
            if (largest(actorCounts) < 3) {
                throw new IllegalArgumentException("the largest of --actors must be at least 3 (one actor is stopped "
                        + "with SIGTERM and one killed, and one must be left), got " + actorCounts);
            }
            if (largest(actorCounts) > 6) {
                throw new IllegalArgumentException("at most 6 actors: rollout.tasks has 6 partitions, so more would "
                        + "sit idle, got " + actorCounts);
            }
        }

        private static int largest(List<Integer> counts) {
            return counts.get(counts.size() - 1);
        }
    }

    /** Steps/s with {@code actors} actors over a window of {@code seconds}. */
    public record Level(int actors, long steps, double seconds, double stepsPerSecond) {}

    /**
     * One membership change, timed from the driver's action ({@code atMs} since the run began).
     *
     * @param kind add, restart, sigterm or sigkill
     * @param unstableMs how long the group was not Stable after the action, summed
     * @param settledMs until the group was Stable with the expected members, every task
     *     partition assigned, and every actor healthy
     * @param longestStepGapMs the longest time without a step from the action until 10 s after settling
     * @param baselineGapMs the longest time without a step in the steady window before the action
     * @param exitedOnSigterm for sigterm: whether the actor exited by itself within its drain timeout and a margin
     */
    public record Change(String kind, List<String> actors, int actorsAfter, long atMs, long unstableMs,
            long settledMs, long longestStepGapMs, long baselineGapMs, Boolean exitedOnSigterm) {}

    /** What was measured, and the audit of the topics and the trainer's log. */
    public record Report(List<Integer> actorCounts, boolean staticMembership, List<Level> levels,
            List<Change> changes, Audit.Report audit) {

        public boolean ok() {
            return audit.ok();
        }
    }

    private final Settings settings;
    private final Pipeline pipeline;
    private final List<Window> windows = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final List<FaultRun.Fault> faults = new ArrayList<>();
    private final long epochAtStart = System.currentTimeMillis();

    /** A counting window, in epoch milliseconds. */
    private record Window(int actors, long fromMs, long toMs) {}

    /** A change whose step gaps are computed once the steps topic is read. */
    private record Pending(String kind, List<String> actors, int actorsAfter, long atEpochMs, long unstableMs,
            long settledMs, Window before, Boolean exitedOnSigterm) {}

    public ScaleOutRun(Settings settings, PrintStream out) {
        this.settings = settings;
        this.pipeline = new Pipeline(settings.dir(), out, new Pipeline.Shape(1, settings.actorCounts().get(0),
                settings.maxInFlight(), settings.staticMembership(), settings.quickStart(),
                settings.torchThreads(), settings.groupsInFlight()));
    }

    /** Runs every phase and the audit. */
    public Report run() throws Exception {
        try (Pipeline p = pipeline; GroupWatch watch = new GroupWatch()) {
            p.start(settings.seed(), settings.taskTimeout(), Duration.ofSeconds(60));
            watch.start();
            List<Integer> counts = settings.actorCounts();
            awaitSettled(watch, counts.get(0), System.currentTimeMillis());
            Window last = measure(counts.get(0));
            for (int i = 1; i < counts.size(); i++) {
                int target = counts.get(i);
                long at = System.currentTimeMillis();
                int from = p.actors.size();
                List<Child> added = new ArrayList<>();
                while (p.actors.size() < target) {
                    added.add(p.addActor());
                }
                p.say("added " + added + ": " + from + " -> " + target + " actors");
                long settled = awaitSettled(watch, target, at);
                change("add", added, at, settled, watch, last, null);
                last = measure(target);
            }
            int n = p.actors.size();
            if (settings.restart()) {
                // The newest actor: the oldest is likely the group's leader, and a leader that
                // rejoins makes the coordinator rebalance even with static membership.
                Child c = p.actors.get(p.actors.size() - 1);
                long at = System.currentTimeMillis();
                p.say("SIGKILL " + c + " and start it again");
                c.kill();
                c.start();
                long settled = awaitSettled(watch, n, at);
                change("restart", List.of(c), at, settled, watch, last, null);
                last = steady(n);
            }
            Child stopped = p.actors.get(1);
            long at = System.currentTimeMillis();
            p.say("SIGTERM " + stopped);
            boolean exited = stopped.terminate(Duration.ofSeconds(20));
            p.retire(stopped);
            long settled = awaitSettled(watch, n - 1, at);
            change("sigterm", List.of(stopped), at, settled, watch, last, exited);
            last = steady(n - 1);

            Child killed = p.actors.get(p.actors.size() - 1);
            at = System.currentTimeMillis();
            p.say("SIGKILL " + killed);
            killed.kill();
            p.retire(killed);
            settled = awaitSettled(watch, n - 2, at);
            change("sigkill", List.of(killed), at, settled, watch, last, null);

            p.say("settling for " + settings.settle());
            Thread.sleep(settings.settle().toMillis());
            Pipeline.Audited audited = p.stopAndAudit(faults, List.of());
            long[] steps = stepTimes(audited.audit());
            p.broker.terminate(Duration.ofSeconds(60));
            return new Report(counts, settings.staticMembership(), levels(steps), changes(steps), audited.report());
        }
    }

    /** Waits for the counts to settle and warm, then counts steps for the window. */
    private Window measure(int actors) throws InterruptedException {
        Window w = steady(actors);
        windows.add(w);
        return w;
    }

    /** A window of {@link Settings#window} starting after {@link #WARM}; returns when it has passed. */
    private Window steady(int actors) throws InterruptedException {
        Thread.sleep(WARM.toMillis());
        long from = System.currentTimeMillis();
        Thread.sleep(settings.window().toMillis());
        long to = System.currentTimeMillis();
        pipeline.say(String.format("counted steps of %d actors for %.1f s", actors, (to - from) / 1000.0));
        return new Window(actors, from, to);
    }

    private void change(String kind, List<Child> which, long atEpochMs, long settledEpochMs, GroupWatch watch,
            Window before, Boolean exited) throws InterruptedException {
        long unstable = watch.unstableMs(atEpochMs, settledEpochMs);
        List<String> names = which.stream().map(c -> c.name).toList();
        pending.add(new Pending(kind, names, pipeline.actors.size(), atEpochMs, unstable, settledEpochMs - atEpochMs,
                before, exited));
        long version = pipeline.trainerVersion();
        long progress = pipeline.awaitVersionAbove(version, Duration.ofMinutes(3))
                ? System.currentTimeMillis() - atEpochMs : -1;
        faults.add(new FaultRun.Fault(kind + ":actor", String.join(",", names), atEpochMs - epochAtStart,
                settledEpochMs - atEpochMs, progress, progress < 0 ? pipeline.lastErrors() : ""));
        pipeline.say(String.format("  %s %s: group not Stable for %d ms, settled after %d ms", kind, names, unstable,
                settledEpochMs - atEpochMs));
    }

    /**
     * Waits until every actor is ready (it has joined the group) and the group is Stable with
     * exactly as many members as actors, each task partition assigned; returns that moment
     * (epoch ms). A killed actor stays a member until its session times out, so a restarted
     * one makes the count one too many until then.
     */
    private long awaitSettled(GroupWatch watch, int actors, long sinceEpochMs) throws Exception {
        long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
        while (true) {
            pipeline.awaitHealthy(pipeline.actors, Pipeline.UP_TIMEOUT);
            GroupWatch.Sample s = watch.latest();
            if (s != null && s.epochMs() > sinceEpochMs && pipeline.actors.stream().allMatch(Child::ready)
                    && s.state() == GroupState.STABLE && s.members() == actors
                    && s.assignedPartitions() == pipeline.topics.tasks().partitions()) {
                return s.epochMs();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the actors' group did not settle with " + actors + " members within "
                        + SETTLE_TIMEOUT + "; last seen " + s);
            }
            Thread.sleep(WATCH_EVERY_MS);
        }
    }

    /** Every step's timestamp (epoch ms, the actor's clock) on the steps topic, sorted. */
    private long[] stepTimes(Audit audit) {
        List<Long> times = new ArrayList<>();
        audit.readAll(pipeline.topics.steps().name(), (tp, r) -> times.add(r.timestamp()));
        return times.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    private List<Level> levels(long[] steps) {
        return windows.stream().map(w -> {
            long n = count(steps, w.fromMs(), w.toMs());
            double seconds = (w.toMs() - w.fromMs()) / 1000.0;
            return new Level(w.actors(), n, seconds, n / seconds);
        }).toList();
    }

    private List<Change> changes(long[] steps) {
        return pending.stream().map(c -> new Change(c.kind(), c.actors(), c.actorsAfter(), c.atEpochMs() - epochAtStart,
                c.unstableMs(), c.settledMs(), longestGap(steps, c.atEpochMs(), c.atEpochMs() + c.settledMs() + 10_000),
                longestGap(steps, c.before().fromMs(), c.before().toMs()), c.exitedOnSigterm())).toList();
    }

    static long count(long[] sorted, long from, long to) {
        int a = lowerBound(sorted, from);
        int b = lowerBound(sorted, to);
        return b - a;
    }

    /** The longest time in [from, to) between two consecutive steps, or a bound and its nearest step. */
    static long longestGap(long[] sorted, long from, long to) {
        long longest = 0;
        long previous = from;
        for (int i = lowerBound(sorted, from); i < sorted.length && sorted[i] < to; i++) {
            longest = Math.max(longest, sorted[i] - previous);
            previous = sorted[i];
        }
        return Math.max(longest, to - previous);
    }

    private static int lowerBound(long[] sorted, long value) {
        int i = Arrays.binarySearch(sorted, value);
        if (i < 0) {
            return -i - 1;
        }
        while (i > 0 && sorted[i - 1] == value) {
            i--;
        }
        return i;
    }

    /** Samples the actors' consumer group every {@link #WATCH_EVERY_MS} on a thread of its own. */
    private final class GroupWatch implements AutoCloseable {

        record Sample(long epochMs, GroupState state, int members, int assignedPartitions) {}

        private final List<Sample> samples = new CopyOnWriteArrayList<>();
        private Admin admin;
        private Thread thread;
        private volatile boolean stop;

        void start() {
            admin = Admin.create(KafkaSettings.copy(pipeline.kafka()));
            String group = pipeline.actorGroup();
            String tasks = pipeline.topics.tasks().name();
            thread = new Thread(() -> {
                while (!stop) {
                    try {
                        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all()
                                .get(5, TimeUnit.SECONDS).get(group);
                        int assigned = 0;
                        for (MemberDescription m : d.members()) {
                            assigned += (int) m.assignment().topicPartitions().stream()
                                    .filter(tp -> tp.topic().equals(tasks)).count();
                        }
                        samples.add(new Sample(System.currentTimeMillis(), d.groupState(), d.members().size(),
                                assigned));
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        // the broker is busy; the next sample will tell
                    }
                    try {
                        Thread.sleep(WATCH_EVERY_MS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "group-watch");
            thread.setDaemon(true);
            thread.start();
        }

        Sample latest() {
            return samples.isEmpty() ? null : samples.get(samples.size() - 1);
        }

        /** Time in [from, to] during which the samples saw the group in a state other than Stable. */
        long unstableMs(long from, long to) {
            long total = 0;
            Sample previous = null;
            for (Sample s : samples) {
                if (s.epochMs() < from || s.epochMs() > to) {
                    continue;
                }
                if (previous != null && previous.state() != GroupState.STABLE) {
                    total += s.epochMs() - previous.epochMs();
                }
                previous = s;
            }
            return total;
        }

        @Override
        public void close() throws InterruptedException {
            stop = true;
            if (thread != null) {
                thread.interrupt();
                thread.join(10_000);
            }
            if (admin != null) {
                admin.close(Duration.ofSeconds(5));
            }
        }
    }
}
