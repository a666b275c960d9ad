package io.rollout.actor.service;

import io.micrometer.core.instrument.Gauge;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.service.ActorMetrics.TaskOutcome;
import io.rollout.records.Step;
import io.rollout.records.StepTimings;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The actor: a member of the {@code actors} consumer group on {@code rollout.tasks} that plays
 * each task's group with a {@link GroupPlayer} and publishes every step to
 * {@code rollout.steps} (idempotent producer, acks=all).
 *
 * <p><b>Delivery.</b> Up to {@code groupsInFlight} tasks play at once, each on its own worker
 * thread, and as many again wait fetched; the poll thread pauses the partitions while twice
 * that many are taken. A task's offset is
 * committed only once all its steps are acknowledged, and offsets are committed in order per
 * partition, so a crash re-delivers every task whose steps might be incomplete. The steps of a
 * delivery carry its delivery attempt ({@link Attempts#delivery}: the task's attempt and how
 * many times its partition has been assigned). An actor that is assigned a partition first
 * <em>claims</em> it: it raises the assignment counter kept in the metadata of the partition's
 * committed offset and commits it, before it takes a task from there. A re-delivery needs a new
 * assignment, so the advantage stage tells a dead actor's partial group from its replay, also
 * when the whole consumer group was gone in between.
 *
 * <p><b>Rebalances</b> (cooperative): the tasks of a revoked partition that are done are
 * committed; the others are abandoned: their players stop before the next step is published,
 * so nothing of them is published once the revocation returns.
 *
 * <p><b>Failures.</b> An env-service failure ends an episode as INFRA_ERROR (see
 * {@link GroupPlayer}). A generation failure ends the group's open episodes as INFRA_ERROR, so
 * the advantage stage drops the group and the scheduler re-queues it. An unreadable or invalid
 * task goes to the dead-letter topic. A step that Kafka does not acknowledge stops the service
 * without committing that task ({@link #failure()}), to be re-delivered elsewhere.
 *
 * <p><b>Shutdown</b> ({@link #close()}): stops taking tasks, lets the tasks in play finish for
 * up to the drain timeout, abandons the rest, commits what is done and leaves the group.
 */
public final class ActorService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ActorService.class);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final String SERVICE = "actor";
    private static final String ASSIGNMENTS = "assignments=";
    private static final Duration CLAIM_TIMEOUT = Duration.ofSeconds(30);

    /**
     * @param actorId recorded in steps, dead letters and the consumer's client id
     * @param consumerGroup the consumer group on the tasks topic, normally {@code actors}
     * @param groupsInFlight tasks played at once, >= 1
     * @param drainTimeout how long {@link #close()} lets tasks in play finish
     */
    public record Settings(String actorId, String consumerGroup, int groupsInFlight, Duration drainTimeout) {
        public Settings {
            Objects.requireNonNull(actorId, "actorId");
            Objects.requireNonNull(consumerGroup, "consumerGroup");
            if (groupsInFlight < 1) {
                throw new IllegalArgumentException("groups in flight must be >= 1, got " + groupsInFlight);
            }
            if (drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drain timeout must be >= 0, got " + drainTimeout);
            }
        }
    }

    private final GroupPlayer player;
    private final AdapterRef adapter;
    private final WeightFollower follower;
    private final Settings settings;
    private final TopicCatalog topics;
    private final Properties kafka;
    private final ActorMetrics metrics;
    private final AvroSerde<Task> tasks = AvroSerde.of(Task.class);
    private final AvroSerde<Step> steps = AvroSerde.of(Step.class);
    private final Map<TopicPartition, TreeMap<Long, Job>> pending = new HashMap<>();
    /** The assignment counter of each claimed partition (poll thread only). */
    private final Map<TopicPartition, Long> claims = new HashMap<>();
    /** Assigned partitions whose claim has not been committed yet: paused until it is. */
    private final Set<TopicPartition> unclaimed = new HashSet<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private KafkaConsumer<byte[], byte[]> consumer;
    private KafkaProducer<byte[], byte[]> producer;
    private ExecutorService workers;
    private Thread pollThread;
    private volatile boolean draining;
    private long drainStartNanos;
    private volatile Throwable failure;

    /**
     * @param player plays each task (thread-safe: one instance serves every worker)
     * @param follower the weight follower, started by the caller; null plays with {@code adapter} alone
     * @param adapter the version players sample with: {@code follower.adapter()} when following
     */
    public ActorService(GroupPlayer player, AdapterRef adapter, WeightFollower follower, Settings settings,
            TopicCatalog topics, Properties kafka, ActorMetrics metrics) {
        this.player = Objects.requireNonNull(player, "player");
        this.adapter = Objects.requireNonNull(adapter, "adapter");
        this.follower = follower;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.kafka = Objects.requireNonNull(kafka, "kafka");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        Gauge.builder("rollout.actor.groups.in.flight", inFlight, AtomicInteger::get).baseUnit("groups")
                .description("Tasks taken and not yet committed or given up").register(metrics.registry());
    }

    /** The Kafka consumer settings of an actor: manual commits, cooperative rebalancing, classic protocol. */
    static Properties consumerProperties(Properties kafka, Settings settings) {
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, settings.consumerGroup());
        p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, settings.actorId() + "-tasks");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.putIfAbsent(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(settings.groupsInFlight()));
        p.putIfAbsent(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return p;
    }

    /** Joins the consumer group and starts taking tasks on a poll thread. */
    public synchronized void start() {
        if (pollThread != null) {
            throw new IllegalStateException("actor " + settings.actorId() + " is already started");
        }
        Properties producerProps = new Properties();
        producerProps.putAll(kafka);
        producerProps.remove(ConsumerConfig.GROUP_ID_CONFIG);
        producerProps.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, settings.actorId() + "-steps");
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        producerProps.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        producer = new KafkaProducer<>(producerProps, new ByteArraySerializer(), new ByteArraySerializer());
        consumer = new KafkaConsumer<>(consumerProperties(kafka, settings), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newFixedThreadPool(settings.groupsInFlight(), r -> {
            Thread t = new Thread(r, settings.actorId() + "-player-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        consumer.subscribe(List.of(topics.tasks().name()), new Rebalance());
        pollThread = new Thread(this::pollLoop, settings.actorId() + "-poll");
        pollThread.start();
    }

    /** Tasks taken and not yet committed or given up. */
    public int groupsInFlight() {
        return inFlight.get();
    }

    /** True while the poll loop runs without a failure. */
    public boolean healthy() {
        return failure == null && pollThread != null && pollThread.isAlive() && !draining;
    }

    /** What stopped the service, or null. */
    public Throwable failure() {
        return failure;
    }

    /** Waits until the poll loop has ended (after {@link #close()} or a failure). */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void pollLoop() {
        try {
            while (failure == null) {
                if (draining) {
                    if (drain()) {
                        break;
                    }
                }
                if (!unclaimed.isEmpty()) {
                    claim(Set.copyOf(unclaimed));
                }
                Set<TopicPartition> skipped = new HashSet<>();
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (skipped.contains(tp)) {
                        continue;
                    }
                    if (draining || !claims.containsKey(tp)) {
                        // Not taken now: read it again later, or let the next owner have it.
                        consumer.seek(tp, r.offset());
                        skipped.add(tp);
                        continue;
                    }
                    take(r, tp);
                }
                commitDone(pending.keySet());
                if (!draining) {
                    flowControl();
                }
            }
        } catch (WakeupException e) {
            // close() timed out waiting for the drain
        } catch (RuntimeException e) {
            LOG.error("actor {}: the task loop failed", settings.actorId(), e);
            failure = e;
        } finally {
            abandon(pending.keySet());
            try {
                consumer.close(Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                LOG.warn("actor {}: closing the consumer failed: {}", settings.actorId(), e.getMessage());
            }
            workers.shutdownNow();
            stopped.countDown();
        }
    }

    /** One drain step: true once nothing is in play or the drain timeout passed. */
    private boolean drain() {
        if (drainStartNanos == 0) {
            drainStartNanos = System.nanoTime();
            consumer.pause(consumer.assignment());
            // Tasks fetched but not started are given back at once.
            for (TreeMap<Long, Job> jobs : pending.values()) {
                for (Job j : jobs.values()) {
                    if (!j.started) {
                        j.cancel();
                    }
                }
            }
        }
        commitDone(pending.keySet());
        boolean playing = pending.values().stream().flatMap(m -> m.values().stream()).anyMatch(j -> !j.finished());
        return !playing || System.nanoTime() - drainStartNanos > settings.drainTimeout().toNanos();
    }

    private void take(ConsumerRecord<byte[], byte[]> r, TopicPartition tp) {
        Task task;
        int delivery;
        try {
            task = tasks.deserialize(r.topic(), r.value());
            if (task == null) {
                throw new IllegalArgumentException("a null task");
            }
            GroupPlayer.validate(task);
            delivery = Attempts.delivery(task.getAttempt(), claims.get(tp));
        } catch (RuntimeException e) {
            deadLetter(r, e);
            Job done = new Job(tp, r.offset(), null);
            done.state = Job.DONE;
            pending.computeIfAbsent(tp, k -> new TreeMap<>()).put(r.offset(), done);
            return;
        }
        Job job = new Job(tp, r.offset(), Task.newBuilder(task).setAttempt(delivery).build());
        pending.computeIfAbsent(tp, k -> new TreeMap<>()).put(r.offset(), job);
        inFlight.incrementAndGet();
        workers.execute(job);
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> r, RuntimeException e) {
        LOG.warn("actor {}: task at {}-{}@{} is unreadable or invalid, dead-lettering it: {}", settings.actorId(),
                r.topic(), r.partition(), r.offset(), e.getMessage());
        metrics.task(TaskOutcome.DEAD_LETTERED);
        try {
            // Acknowledged before the offset can be committed, so a bad task is never lost.
            producer.send(new ProducerRecord<>(topics.dlq().name(), null, r.key(), r.value(),
                    DeadLetters.headers(r.headers(), r.topic(), r.partition(), r.offset(), "INVALID",
                            String.valueOf(e.getMessage()), SERVICE))).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | java.util.concurrent.TimeoutException failed) {
            throw new IllegalStateException("cannot dead-letter the task at " + r.topic() + "-" + r.partition() + "@"
                    + r.offset(), failed);
        }
    }

    /**
     * Pauses the partitions while twice {@code groupsInFlight} tasks are taken (as many again
     * wait, fetched, for a free player, so a finished group's player starts the next one at
     * once instead of after a fetch), and resumes the claimed ones below.
     */
    private void flowControl() {
        if (inFlight.get() >= 2 * settings.groupsInFlight()) {
            consumer.pause(consumer.assignment());
        } else if (!consumer.paused().isEmpty()) {
            consumer.resume(consumer.paused().stream().filter(claims::containsKey).toList());
        }
    }

    /**
     * Claims newly assigned partitions: raises each one's assignment counter in its committed
     * offset's metadata (keeping the offset) and commits it. A partition whose claim cannot be
     * committed now stays paused and is claimed again on the next loop.
     */
    private void claim(Set<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(partitions, CLAIM_TIMEOUT);
            for (TopicPartition tp : partitions) {
                OffsetAndMetadata c = committed.get(tp);
                long offset = c != null ? c.offset() : consumer.position(tp, CLAIM_TIMEOUT);
                commits.put(tp, new OffsetAndMetadata(offset, metadata(assignments(c) + 1)));
            }
            consumer.commitSync(commits, CLAIM_TIMEOUT);
        } catch (RebalanceInProgressException | CommitFailedException | RetriableException e) {
            LOG.info("actor {}: claiming {} deferred: {}", settings.actorId(), partitions, e.getMessage());
            consumer.pause(partitions);
            unclaimed.addAll(partitions);
            return;
        }
        commits.forEach((tp, c) -> {
            claims.put(tp, assignments(c));
            unclaimed.remove(tp);
        });
        LOG.info("actor {}: claimed {}", settings.actorId(), commits.entrySet().stream()
                .map(e -> e.getKey() + " (assignment " + assignments(e.getValue()) + ")").toList());
    }

    private String metadata(long assignments) {
        return ASSIGNMENTS + assignments + ";actor=" + settings.actorId();
    }

    /** The assignment counter in a committed offset's metadata; 0 when there is none. */
    static long assignments(OffsetAndMetadata committed) {
        if (committed == null || committed.metadata() == null) {
            return 0;
        }
        for (String part : committed.metadata().split(";")) {
            if (part.startsWith(ASSIGNMENTS)) {
                try {
                    return Long.parseLong(part.substring(ASSIGNMENTS.length()));
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }

    /**
     * Commits, per partition, the offset after the longest run of finished tasks. A commit
     * refused because a rebalance is under way is retried on the next loop; the tasks stay
     * pending until it succeeds.
     */
    private void commitDone(Collection<TopicPartition> partitions) {
        Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
        for (TopicPartition tp : partitions) {
            TreeMap<Long, Job> jobs = pending.get(tp);
            if (jobs == null) {
                continue;
            }
            Long next = null;
            for (Map.Entry<Long, Job> e : jobs.entrySet()) {
                if (e.getValue().state != Job.DONE) {
                    break;
                }
                next = e.getKey() + 1;
            }
            if (next != null) {
                commits.put(tp, new OffsetAndMetadata(next, metadata(claims.getOrDefault(tp, 0L))));
            }
        }
        if (commits.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(commits);
        } catch (RebalanceInProgressException | CommitFailedException | RetriableException e) {
            LOG.info("actor {}: commit deferred: {}", settings.actorId(), e.getMessage());
            return;
        }
        commits.forEach((tp, offset) -> pending.get(tp).headMap(offset.offset()).clear());
    }

    /** Gives up every unfinished task of {@code partitions}; none publishes a step after this returns. */
    private void abandon(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : List.copyOf(partitions)) {
            TreeMap<Long, Job> jobs = pending.remove(tp);
            if (jobs != null) {
                jobs.values().forEach(Job::cancel);
            }
        }
    }

    private void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> {
            claims.remove(tp);
            unclaimed.remove(tp);
        });
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            commitDone(partitions);
            abandon(partitions);
            forget(partitions);
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            abandon(partitions);
            forget(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            LOG.info("actor {}: assigned {}", settings.actorId(), partitions);
            consumer.pause(partitions); // until claimed, and for good while draining
            if (!draining && !partitions.isEmpty()) {
                claim(Set.copyOf(partitions));
            }
        }
    }

    /** Thrown into a player's sink to stop an abandoned task. */
    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super(null, null, false, false);
        }
    }

    /** One delivered task: played on a worker thread, committed by the poll thread once DONE. */
    private final class Job implements Runnable {
        static final int PLAYING = 0;
        static final int DONE = 1;
        static final int CANCELLED = 2;
        static final int FAILED = 3;

        final TopicPartition partition;
        final long offset;
        final Task task;
        final List<Future<RecordMetadata>> sends = new ArrayList<>();
        final Map<Integer, Integer> nextT = new HashMap<>();
        final Set<Integer> ended = new HashSet<>();
        volatile int state = PLAYING;
        volatile boolean started;
        private boolean counted;

        Job(TopicPartition partition, long offset, Task task) {
            this.partition = partition;
            this.offset = offset;
            this.task = task;
        }

        boolean finished() {
            return state != PLAYING;
        }

        /** Publishes one step unless the task was abandoned; the check and the send are atomic. */
        synchronized void publish(Step step) {
            if (state == CANCELLED) {
                throw new Abandoned();
            }
            byte[] key = step.getGroupId().toString().getBytes(StandardCharsets.UTF_8);
            sends.add(producer.send(new ProducerRecord<>(topics.steps().name(), key,
                    steps.serialize(topics.steps().name(), step))));
            metrics.step(step.getTerminalReason());
            nextT.put(step.getEpisode(), step.getT() + 1);
            if (step.getDone()) {
                ended.add(step.getEpisode());
            }
            if (follower != null) {
                follower.generated(step.getPolicyVersion());
            }
        }

        synchronized void cancel() {
            if (state == PLAYING) {
                state = CANCELLED;
                finish(TaskOutcome.ABANDONED);
            }
        }

        /** Counts the outcome once and frees the in-flight slot; call with the lock held. */
        private void finish(TaskOutcome outcome) {
            if (!counted) {
                counted = true;
                metrics.task(outcome);
                inFlight.decrementAndGet();
            }
        }

        @Override
        public void run() {
            started = true;
            if (state != PLAYING) {
                return;
            }
            long start = System.nanoTime();
            TaskOutcome outcome = TaskOutcome.COMPLETED;
            try {
                player.play(task, adapter, this::publish);
            } catch (Abandoned e) {
                return;
            } catch (RuntimeException e) {
                if (state == CANCELLED) {
                    return;
                }
                LOG.error("actor {}: group {} attempt {} failed; ending its open episodes as INFRA_ERROR",
                        settings.actorId(), task.getGroupId(), task.getAttempt(), e);
                outcome = TaskOutcome.FAILED;
                try {
                    endOpenEpisodes();
                } catch (Abandoned abandoned) {
                    return;
                }
            }
            for (Future<RecordMetadata> f : List.copyOf(sends)) {
                try {
                    f.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (ExecutionException e) {
                    fail(e.getCause());
                    return;
                }
            }
            metrics.groupPlayed(System.nanoTime() - start);
            synchronized (this) {
                if (state == PLAYING) {
                    state = DONE;
                    finish(outcome);
                }
            }
        }

        private void endOpenEpisodes() {
            for (int e = 0; e < task.getGroupSize(); e++) {
                if (!ended.contains(e)) {
                    publish(Step.newBuilder()
                            .setGroupId(task.getGroupId()).setEpisode(e).setGroupSize(task.getGroupSize())
                            .setAttempt(task.getAttempt()).setT(nextT.getOrDefault(e, 0)).setEnv(task.getEnv())
                            .setAnchor("").setPromptTokens(ByteBuffer.allocate(0))
                            .setResponseTokens(ByteBuffer.allocate(0)).setOldLogProbs(ByteBuffer.allocate(0))
                            .setReward(0f).setValid(false).setDone(true).setTerminalReason(TerminalReason.INFRA_ERROR)
                            .setPolicyVersion(adapter.get().version()).setActorId(settings.actorId())
                            .setTimings(StepTimings.newBuilder().setGenerateMicros(0).setEnvMicros(0)
                                    .setCreatedAtMs(System.currentTimeMillis()).build())
                            .build());
                }
            }
        }

        private void fail(Throwable cause) {
            LOG.error("actor {}: a step of group {} was not acknowledged; stopping without committing it",
                    settings.actorId(), task.getGroupId(), cause);
            synchronized (this) {
                state = FAILED;
                finish(TaskOutcome.FAILED);
            }
            if (failure == null) {
                failure = cause;
            }
        }
    }

    /** Stops taking tasks, drains (see the class doc), leaves the group and closes the producer. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            t = pollThread;
            draining = true;
        }
        if (t != null) {
            try {
                if (!stopped.await(settings.drainTimeout().toMillis() + 15_000, TimeUnit.MILLISECONDS)) {
                    consumer.wakeup();
                    stopped.await(15, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            producer.close(Duration.ofSeconds(10));
        }
    }
}
