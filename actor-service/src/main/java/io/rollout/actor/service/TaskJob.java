package io.rollout.actor.service;

import static io.rollout.actor.delivery.JobState.DONE;
import static io.rollout.actor.delivery.JobState.PLAYING;

import io.rollout.actor.delivery.JobState;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.EnvOutageException;
import io.rollout.actor.play.TaskPlayer;
import io.rollout.actor.service.ActorMetrics.TaskOutcome;
import io.rollout.records.Step;
import io.rollout.records.StepTimings;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Attempts;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One delivered task: played on a worker thread, committed by the poll thread once DONE.
 *
 * <p>Longer than most classes because a task's whole life (play, replay after an outage, publish,
 * wait for acknowledgements, end open episodes) is guarded by the one lock that makes a revocation
 * and a publish atomic.
 */
final class TaskJob implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(TaskJob.class);
    /** Steps not acknowledged for this long mean Kafka is unavailable: not ready. */
    private static final Duration ACK_STALL = Duration.ofSeconds(10);

    private final Context c;
    final TopicPartition partition;
    final long offset;
    /** The task as the scheduler sent it (its own attempt). */
    final Task original;
    final List<Sent> sends = new ArrayList<>();
    final Map<Integer, Integer> nextT = new HashMap<>();
    final Set<Integer> ended = new HashSet<>();
    /** The task under its current delivery attempt. */
    volatile Task task;
    long assignment;
    volatile JobState state = PLAYING;
    volatile boolean started;
    private boolean counted;
    private TaskOutcome outcome = TaskOutcome.COMPLETED;

    TaskJob(Context c, TopicPartition partition, long offset, Task original, Task task, long assignment) {
        this.c = c;
        this.partition = partition;
        this.offset = offset;
        this.original = original;
        this.task = task;
        this.assignment = assignment;
    }

    boolean finished() {
        return state.finished();
    }

    /** Publishes one step unless the task was abandoned; the check and the send are atomic. */
    synchronized void publish(Step step) {
        if (state != PLAYING) {
            throw new Abandoned();
        }
        byte[] key = step.getGroupId().toString().getBytes(StandardCharsets.UTF_8);
        byte[] value = c.steps.serialize(c.stepsTopic, step);
        if (key.length + value.length > c.maxStepBytes) {
            throw new OversizedStep(step, key.length + value.length, c.maxStepBytes);
        }
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(c.stepsTopic, key, value);
        sends.add(new Sent(record, step.getEpisode(), step.getT(), c.producer.send(record)));
        c.metrics.step(step.getTerminalReason());
        nextT.put(step.getEpisode(), step.getT() + 1);
        if (step.getDone()) {
            ended.add(step.getEpisode());
        }
        if (c.follower != null) {
            c.follower.generated(step.getPolicyVersion());
        }
    }

    synchronized void cancel() {
        if (state == PLAYING) {
            state = state.moveTo(JobState.CANCELLED);
            finish(TaskOutcome.ABANDONED);
        }
    }

    /** Counts the outcome once and frees the in-flight slot; call with the lock held. */
    private void finish(TaskOutcome o) {
        if (!counted) {
            counted = true;
            c.metrics.task(o);
            c.inFlight.decrementAndGet();
        }
    }

    @Override
    public void run() {
        started = true;
        if (state != PLAYING) {
            return;
        }
        try {
            long start = c.nanoClock.getAsLong();
            if (!play() || !awaitAcks()) {
                return;
            }
            c.metrics.groupPlayed(c.nanoClock.getAsLong() - start);
            synchronized (this) {
                if (state == PLAYING) {
                    state = state.moveTo(DONE);
                    finish(outcome);
                }
            }
        } catch (Abandoned e) {
            // given up by the poll thread; it counted the outcome
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the service is stopping
        } catch (Throwable e) {
            // An Error, or a failure while failing the group: the actor is broken, not the task.
            synchronized (this) {
                if (state == PLAYING) {
                    state = state.moveTo(JobState.FAILED);
                    finish(TaskOutcome.ABANDONED);
                }
            }
            c.onFailure.accept(e, "playing group " + original.getGroupId() + " (" + partition + "@" + offset + ") failed");
        }
    }

    /**
     * Plays the group, again from its start under a new attempt after each env-service outage
     * (at most {@code outageReplays} times); false if the task was abandoned meanwhile.
     */
    private boolean play() throws InterruptedException {
        for (int replays = 0; ; replays++) {
            if (!awaitEnv()) {
                return false;
            }
            try {
                c.player.play(task, c.adapter, this::publish);
                return true;
            } catch (Abandoned e) {
                return false;
            } catch (EnvOutageException e) {
                if (state != PLAYING) {
                    return false;
                }
                if (c.envService.down(e.getMessage())) {
                    c.onEnvDown.run();
                }
                if (replays >= c.settings.outageReplays()) {
                    LOG.error("actor {}: group {} attempt {} met env-service outages {} times; ending its open "
                            + "episodes as INFRA_ERROR: {}", c.settings.actorId(), task.getGroupId(),
                            task.getAttempt(), replays + 1, e.getMessage());
                    return endGroup();
                }
                Duration wait = c.backoff.delay(replays);
                LOG.warn("actor {}: group {} attempt {}: env-service unavailable or restarted ({}); playing the "
                        + "group again from its start under a new attempt once it answers (in {} ms at the "
                        + "earliest)", c.settings.actorId(), task.getGroupId(), task.getAttempt(), e.getMessage(),
                        wait.toMillis());
                if (!pause(wait) || !awaitEnv() || !renewAttempt()) {
                    return false;
                }
                c.metrics.groupReplayed();
            } catch (OversizedStep e) {
                if (state != PLAYING) {
                    return false;
                }
                LOG.warn("actor {}: group {} attempt {}: {}; dropping the group: its open episodes end as "
                        + "INFRA_ERROR and the task is committed", c.settings.actorId(), task.getGroupId(),
                        task.getAttempt(), e.getMessage());
                c.metrics.oversizedStep();
                return endGroup();
            } catch (RuntimeException e) {
                if (state != PLAYING) {
                    return false;
                }
                LOG.error("actor {}: group {} attempt {} failed; ending its open episodes as INFRA_ERROR",
                        c.settings.actorId(), task.getGroupId(), task.getAttempt(), e);
                return endGroup();
            }
        }
    }

    private boolean endGroup() {
        outcome = TaskOutcome.FAILED;
        try {
            endOpenEpisodes();
        } catch (Abandoned abandoned) {
            return false;
        }
        return true;
    }

    /** Waits while env-service is unavailable; false if the task was abandoned meanwhile. */
    private boolean awaitEnv() throws InterruptedException {
        while (!c.envService.awaitUp(100)) {
            if (state != PLAYING) {
                return false;
            }
        }
        return state == PLAYING;
    }

    /** Sleeps {@code d}; false if the task was abandoned meanwhile. */
    private boolean pause(Duration d) throws InterruptedException {
        long until = c.nanoClock.getAsLong() + d.toNanos();
        for (long left = d.toNanos(); left > 0; left = until - c.nanoClock.getAsLong()) {
            if (state != PLAYING) {
                return false;
            }
            Thread.sleep(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(left))));
        }
        return state == PLAYING;
    }

    /**
     * Moves the task to a new delivery attempt, above every attempt of it so far, and forgets
     * what the last attempt published; false if the task was abandoned meanwhile.
     */
    private boolean renewAttempt() throws InterruptedException {
        CompletableFuture<Long> renewed = new CompletableFuture<>();
        c.renewals.add(new Renewal(partition, assignment, renewed));
        long a;
        while (true) {
            if (state != PLAYING) {
                return false;
            }
            try {
                a = renewed.get(100, TimeUnit.MILLISECONDS);
                break;
            } catch (java.util.concurrent.TimeoutException e) {
                // still waiting for the poll thread
            } catch (ExecutionException e) {
                return false;
            }
        }
        synchronized (this) {
            if (state != PLAYING) {
                return false;
            }
            int previous = task.getAttempt();
            assignment = a;
            task = Task.newBuilder(original).setAttempt(Attempts.delivery(original.getAttempt(), a)).build();
            nextT.clear();
            ended.clear();
            LOG.info("actor {}: group {} goes on under attempt {} (was {})", c.settings.actorId(),
                    task.getGroupId(), task.getAttempt(), previous);
        }
        return true;
    }

    /**
     * Waits until every step sent is acknowledged. Kafka not answering (no acknowledgement for
     * {@link #ACK_STALL}, or a retriable error) makes the actor not ready, and the step is sent
     * again; a step the broker refuses as too large drops the group; any other refusal fails
     * the service. False if the task was abandoned meanwhile.
     */
    private boolean awaitAcks() throws InterruptedException {
        int retries = 0;
        for (int i = 0; i < sendCount(); i++) {
            Sent s = sent(i);
            while (true) {
                if (state != PLAYING) {
                    return false;
                }
                try {
                    s.ack.get(ACK_STALL.toMillis(), TimeUnit.MILLISECONDS);
                    c.kafkaCluster.up();
                    break;
                } catch (java.util.concurrent.TimeoutException e) {
                    c.kafkaCluster.down("steps of group " + task.getGroupId() + " not acknowledged for "
                            + ACK_STALL.toSeconds() + " s");
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof RecordTooLargeException || cause instanceof RecordBatchTooLargeException) {
                        LOG.warn("actor {}: Kafka refused step t={} of group {} episode {} as too large; dropping "
                                + "the group: {}", c.settings.actorId(), s.t, task.getGroupId(), s.episode,
                                cause.getMessage());
                        c.metrics.oversizedStep();
                        if (!refused(s)) {
                            return false;
                        }
                        break;
                    }
                    if (!(cause instanceof RetriableException)) {
                        throw new IllegalStateException("Kafka refused a step of group " + task.getGroupId()
                                + "; the task stays uncommitted", cause);
                    }
                    c.kafkaCluster.down(cause.getMessage());
                    if (!pause(c.backoff.delay(retries++)) || !resend(s)) {
                        return false;
                    }
                }
            }
        }
        return true;
    }

    private synchronized int sendCount() {
        return sends.size();
    }

    private synchronized Sent sent(int i) {
        return sends.get(i);
    }

    private synchronized boolean resend(Sent s) {
        if (state != PLAYING) {
            return false;
        }
        s.ack = c.producer.send(s.record);
        return true;
    }

    /** Ends the episode of a step the broker refused with an INFRA_ERROR step in its place. */
    private synchronized boolean refused(Sent s) {
        outcome = TaskOutcome.FAILED;
        try {
            publish(infraStep(s.episode, s.t));
        } catch (Abandoned e) {
            return false;
        }
        return true;
    }

    private void endOpenEpisodes() {
        for (int e = 0; e < task.getGroupSize(); e++) {
            if (!ended.contains(e)) {
                publish(infraStep(e, nextT.getOrDefault(e, 0)));
            }
        }
    }

    private Step infraStep(int episode, int t) {
        Task k = task;
        return Step.newBuilder()
                .setGroupId(k.getGroupId()).setEpisode(episode).setGroupSize(k.getGroupSize())
                .setAttempt(k.getAttempt()).setT(t).setEnv(k.getEnv())
                .setAnchor("").setPromptTokens(ByteBuffer.allocate(0))
                .setResponseTokens(ByteBuffer.allocate(0)).setOldLogProbs(ByteBuffer.allocate(0))
                .setReward(0f).setValid(false).setDone(true).setTerminalReason(TerminalReason.INFRA_ERROR)
                .setPolicyVersion(c.adapter.get().version()).setActorId(c.settings.actorId())
                .setTimings(StepTimings.newBuilder().setGenerateMicros(0).setEnvMicros(0)
                        .setCreatedAtMs(System.currentTimeMillis()).build())
                .build();
    }

    /** Thrown into a player's sink to stop an abandoned task. */
    static final class Abandoned extends RuntimeException {
        Abandoned() {
            super(null, null, false, false);
        }
    }

    /** Thrown into a player's sink for a step too big for a Kafka record: the group is dropped. */
    static final class OversizedStep extends RuntimeException {
        OversizedStep(Step step, int bytes, int bound) {
            super("step t=" + step.getT() + " of episode " + step.getEpisode() + " is " + bytes
                    + " bytes, over the bound of " + bound + " (--max-step-bytes / max.request.size)");
        }
    }

    /** A job's request for a delivery attempt above the assignment {@code above}. */
    record Renewal(TopicPartition partition, long above, CompletableFuture<Long> result) {}

    /** One step sent, kept until acknowledged so it can be sent again. */
    private static final class Sent {
        final ProducerRecord<byte[], byte[]> record;
        final int episode;
        final int t;
        Future<RecordMetadata> ack;

        Sent(ProducerRecord<byte[], byte[]> record, int episode, int t, Future<RecordMetadata> ack) {
            this.record = record;
            this.episode = episode;
            this.t = t;
            this.ack = ack;
        }
    }

    /** What every job of one actor shares: its collaborators, its clients and the service's callbacks. */
    record Context(TaskPlayer player, AdapterRef adapter, WeightFollower follower, ActorService.Settings settings,
            String stepsTopic, AvroSerde<Step> steps, Producer<byte[], byte[]> producer, int maxStepBytes,
            ActorMetrics metrics, AtomicInteger inFlight, LongSupplier nanoClock, Backoff backoff,
            Dependency envService, Dependency kafkaCluster, Queue<Renewal> renewals, Runnable onEnvDown,
            BiConsumer<Throwable, String> onFailure) {}
}
