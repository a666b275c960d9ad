package io.rollout.actor.service;

import static io.rollout.actor.delivery.JobState.DONE;

import io.micrometer.core.instrument.Gauge;
import io.rollout.actor.delivery.ClaimMetadata;
import io.rollout.actor.delivery.PartitionProgress;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.play.TaskPlayer;
import io.rollout.actor.service.ActorMetrics.TaskOutcome;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.runtime.kafka.KafkaClients;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
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
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.WakeupException;
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
 * <p><b>Outages.</b> When env-service is unreachable or has lost the group's sessions (see
 * {@link GroupPlayer#isOutage}), the task is not failed: the actor reports not ready, takes no
 * new task, probes env-service with exponential backoff and jitter until it answers, then plays
 * the group again from its start under a new delivery attempt (it raises the partition's
 * assignment counter, as a claim does), so the lost attempt's steps are superseded, never mixed.
 * After {@code outageReplays} replays of one task the group ends as INFRA_ERROR. When Kafka does
 * not acknowledge steps in time or refuses commits for a retriable reason, the actor reports not
 * ready and keeps trying, sending the same steps again: same attempt, same content, so a
 * duplicate is harmless.
 *
 * <p><b>Failures.</b> An env-service failure that is not an outage ends an episode as INFRA_ERROR
 * (see {@link GroupPlayer}). A generation failure (a RuntimeException) ends the group's open
 * episodes as INFRA_ERROR, so the advantage stage drops the group and the scheduler re-queues
 * it; so does a step too big for a Kafka record. An unreadable or invalid task goes to the
 * dead-letter topic. Anything else (an {@link Error} while playing or in the task loop, a step
 * Kafka refuses for good, an adapter that cannot be loaded for an Error) is a failure of the
 * actor: it becomes unhealthy, stops its loop and commits nothing more
 * ({@link #failure()}), so its unfinished tasks are re-delivered elsewhere.
 *
 * <p><b>Shutdown</b> ({@link #close()}): stops taking tasks, lets the tasks in play finish until
 * the drain timeout, abandons the rest uncommitted, commits what is done and leaves the group;
 * every Kafka call on the way is bounded, so {@code close()} returns within the drain timeout
 * and a few seconds.
 *
 * <p><b>Layout.</b> This class is the Kafka edge: the poll loop, claims, commits, rebalances,
 * the drain and the probes, which all touch the consumer and so all run on the poll thread; it
 * is longer than most for that reason. What can be decided without Kafka lives in
 * {@code io.rollout.actor.delivery} ({@link PartitionProgress}, {@link ClaimMetadata},
 * {@link io.rollout.actor.delivery.JobState}); playing and publishing one task is {@link TaskJob}.
 */
public final class ActorService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ActorService.class);
    private static final Duration POLL = Duration.ofMillis(100);
    private static final String SERVICE = "actor";
    /** Bound of a commit or committed-offset lookup; a slower one is retried on a later loop. */
    private static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(5);
    /** Bound of the consumer's and the producer's close. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);
    /** How long close() waits past the drain deadline for the loop to end before waking it up. */
    private static final Duration CLOSE_MARGIN = Duration.ofSeconds(3);
    /** How often the loop checks that Kafka answers while nothing else tells. */
    private static final Duration KAFKA_PROBE_EVERY = Duration.ofSeconds(5);
    /** Record and batch framing around a step's key and value, kept free below max.request.size. */
    static final int RECORD_OVERHEAD = 512;
    private static final int DEFAULT_MAX_REQUEST_SIZE = 1_048_576;

    /**
     * @param actorId recorded in steps, dead letters and the consumer's client id
     * @param consumerGroup the consumer group on the tasks topic, normally {@code actors}
     * @param groupsInFlight tasks played at once, >= 1
     * @param drainTimeout how long {@link #close()} lets tasks in play finish
     * @param maxStepBytes a step (key and value) bigger than this drops its group; 0: the producer's
     *     {@code max.request.size} less {@link #RECORD_OVERHEAD} (which also bounds a larger value)
     * @param outageBackoff the first wait after an outage; waits double up to {@code outageBackoffMax}
     * @param outageReplays how many times one task is played again after env-service outages
     *     before its group ends as INFRA_ERROR
     */
    public record Settings(String actorId, String consumerGroup, int groupsInFlight, Duration drainTimeout,
            int maxStepBytes, Duration outageBackoff, Duration outageBackoffMax, int outageReplays) {
        public static final int DEFAULT_MAX_STEP_BYTES = 0;
        public static final Duration DEFAULT_OUTAGE_BACKOFF = Duration.ofMillis(500);
        public static final Duration DEFAULT_OUTAGE_BACKOFF_MAX = Duration.ofSeconds(30);
        public static final int DEFAULT_OUTAGE_REPLAYS = 10;

        public Settings {
            Objects.requireNonNull(actorId, "actorId");
            Objects.requireNonNull(consumerGroup, "consumerGroup");
            if (groupsInFlight < 1) {
                throw new IllegalArgumentException("groups in flight must be >= 1, got " + groupsInFlight);
            }
            if (drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drain timeout must be >= 0, got " + drainTimeout);
            }
            if (maxStepBytes < 0) {
                throw new IllegalArgumentException("max step bytes must be >= 0 (0: the producer's), got "
                        + maxStepBytes);
            }
            if (outageBackoff.isNegative() || outageBackoff.isZero() || outageBackoffMax.compareTo(outageBackoff) < 0) {
                throw new IllegalArgumentException("outage backoff must be > 0 and at most its maximum, got "
                        + outageBackoff + " up to " + outageBackoffMax);
            }
            if (outageReplays < 0) {
                throw new IllegalArgumentException("outage replays must be >= 0, got " + outageReplays);
            }
        }

        /** Settings with the default step bound, outage backoff and replays. */
        public Settings(String actorId, String consumerGroup, int groupsInFlight, Duration drainTimeout) {
            this(actorId, consumerGroup, groupsInFlight, drainTimeout, DEFAULT_MAX_STEP_BYTES,
                    DEFAULT_OUTAGE_BACKOFF, DEFAULT_OUTAGE_BACKOFF_MAX, DEFAULT_OUTAGE_REPLAYS);
        }

        public Settings withMaxStepBytes(int bytes) {
            return new Settings(actorId, consumerGroup, groupsInFlight, drainTimeout, bytes, outageBackoff,
                    outageBackoffMax, outageReplays);
        }

        public Settings withOutageBackoff(Duration initial, Duration max, int replays) {
            return new Settings(actorId, consumerGroup, groupsInFlight, drainTimeout, maxStepBytes, initial, max,
                    replays);
        }
    }

    private final TaskPlayer player;
    private final AdapterRef adapter;
    private final WeightFollower follower;
    private final Settings settings;
    private final TopicCatalog topics;
    private final Properties kafka;
    private final ActorMetrics metrics;
    private final AvroSerde<Task> tasks = AvroSerde.of(Task.class);
    private final AvroSerde<Step> steps = AvroSerde.of(Step.class);
    /** The tasks taken from each claimed partition and its committed offset (poll thread only). */
    private final Map<TopicPartition, PartitionProgress<TaskJob>> progress = new HashMap<>();
    /** The assignment counter of each claimed partition (poll thread only). */
    private final Map<TopicPartition, Long> claims = new HashMap<>();
    /** Assigned partitions whose claim has not been committed yet: paused until it is. */
    private final Set<TopicPartition> unclaimed = new HashSet<>();
    /** Jobs' requests for a new delivery attempt after an outage, served by the poll thread. */
    private final Queue<TaskJob.Renewal> renewals = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final LongSupplier nanoClock;
    private final Backoff backoff;
    private final Dependency envService;
    private final Dependency kafkaCluster;
    private final AtomicBoolean probingEnv = new AtomicBoolean();
    private final KafkaClients clients;

    private Consumer<byte[], byte[]> consumer;
    private Producer<byte[], byte[]> producer;
    private ExecutorService workers;
    private ScheduledExecutorService probes;
    private Thread pollThread;
    private TaskJob.Context jobContext;
    private volatile boolean draining;
    /** Set by the first assignment (even an empty one): the consumer is a member of the group. */
    private volatile boolean joined;
    private volatile long drainDeadlineNanos;
    private List<TaskJob> drainedInPlay;
    private long lastKafkaAnswerNanos;
    private volatile Throwable failure;

    /**
     * @param player plays each task (thread-safe: one instance serves every worker)
     * @param follower the weight follower, started by the caller; null plays with {@code adapter} alone
     * @param adapter the version players sample with: {@code follower.adapter()} when following
     */
    public ActorService(GroupPlayer player, AdapterRef adapter, WeightFollower follower, Settings settings,
            TopicCatalog topics, Properties kafka, ActorMetrics metrics) {
        this(player.raisingEnvOutages(), adapter, follower, settings, topics, kafka, metrics, System::nanoTime,
                KafkaClients.real());
    }

    /**
     * As above, with a player that raises env-service outages ({@link GroupPlayer#raisingEnvOutages}),
     * the clock of the drain deadline and of outage bookkeeping, and the maker of the Kafka clients.
     */
    ActorService(TaskPlayer player, AdapterRef adapter, WeightFollower follower, Settings settings,
            TopicCatalog topics, Properties kafka, ActorMetrics metrics, LongSupplier nanoClock, KafkaClients clients) {
        this.player = Objects.requireNonNull(player, "player");
        this.adapter = Objects.requireNonNull(adapter, "adapter");
        this.follower = follower;
        this.settings = Objects.requireNonNull(settings, "settings");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.kafka = Objects.requireNonNull(kafka, "kafka");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        this.clients = Objects.requireNonNull(clients, "clients");
        this.backoff = new Backoff(settings.outageBackoff(), settings.outageBackoffMax(), seed(settings.actorId()));
        this.envService = new Dependency("env", "env-service", settings.actorId(), metrics.registry(), nanoClock);
        this.kafkaCluster = new Dependency("kafka", "the Kafka cluster", settings.actorId(), metrics.registry(),
                nanoClock);
        Gauge.builder("rollout.actor.groups.in.flight", inFlight, AtomicInteger::get)
                .description("Tasks taken and not yet committed or given up").register(metrics.registry());
        Gauge.builder("rollout.actor.ready", this, s -> s.ready() ? 1 : 0)
                .description("1 while the actor takes tasks: healthy, not draining, joined its consumer group, "
                        + "env-service and Kafka answer")
                .register(metrics.registry());
    }

    /** The jitter seed of an actor: fixed per actor id, different between actors. */
    private static long seed(String actorId) {
        long h = 0xcbf29ce484222325L;
        for (byte b : actorId.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }

    /** The Kafka consumer settings of an actor: manual commits, cooperative rebalancing, classic protocol. */
    static Properties consumerProperties(Properties kafka, Settings settings) {
        Properties p = KafkaSettings.consumer(kafka, settings.consumerGroup(), settings.actorId() + "-tasks");
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
        Properties producerProps = KafkaSettings.producer(kafka, settings.actorId() + "-steps");
        producerProps.remove(ConsumerConfig.GROUP_ID_CONFIG);
        producerProps.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        // A send blocks (holding its task's lock, which a revocation or the drain waits for) at most this long.
        producerProps.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
        producer = clients.producer(producerProps);
        jobContext = new TaskJob.Context(player, adapter, follower, settings, topics.steps().name(), steps, producer,
                stepBound(producerProps, settings.maxStepBytes()), metrics, inFlight, nanoClock, backoff, envService,
                kafkaCluster, renewals, () -> probeEnvUntilUp(0), this::fail);
        consumer = clients.consumer(consumerProperties(kafka, settings));
        AtomicInteger n = new AtomicInteger();
        workers = Executors.newFixedThreadPool(settings.groupsInFlight(), r -> {
            Thread t = new Thread(r, settings.actorId() + "-player-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        probes = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, settings.actorId() + "-env-probe");
            t.setDaemon(true);
            return t;
        });
        consumer.subscribe(List.of(topics.tasks().name()), new Rebalance());
        lastKafkaAnswerNanos = nanoClock.getAsLong();
        pollThread = new Thread(this::pollLoop, settings.actorId() + "-poll");
        pollThread.start();
    }

    /** The largest step (key and value) sent: {@code configured} if set, at most what the producer accepts. */
    static int stepBound(Properties producer, int configured) {
        Object v = producer.get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        int request = v == null ? DEFAULT_MAX_REQUEST_SIZE : Integer.parseInt(v.toString().trim());
        int bound = Math.max(1, request - RECORD_OVERHEAD);
        return configured > 0 ? Math.min(configured, bound) : bound;
    }

    /** Tasks taken and not yet committed or given up. */
    public int groupsInFlight() {
        return inFlight.get();
    }

    /** True while the poll loop runs without a failure and is not draining (liveness: /health). */
    public boolean healthy() {
        return failure == null && pollThread != null && pollThread.isAlive() && !draining;
    }

    /**
     * True while the actor takes tasks (readiness: /ready): healthy, joined its consumer group
     * (assigned partitions, possibly none, at least once since start), and env-service and Kafka
     * answer. False during an outage, true again by itself once they answer.
     */
    public boolean ready() {
        return healthy() && joined && envService.isUp() && kafkaCluster.isUp();
    }

    /** Whether env-service answers, as far as the actor knows. */
    public boolean envAvailable() {
        return envService.isUp();
    }

    /** Whether Kafka answers, as far as the actor knows. */
    public boolean kafkaAvailable() {
        return kafkaCluster.isUp();
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
                if (follower != null && follower.failure() != null) {
                    fail(follower.failure(), "the weight follower failed");
                    break;
                }
                if (draining && drain()) {
                    break;
                }
                if (!unclaimed.isEmpty()) {
                    claim(Set.copyOf(unclaimed));
                }
                renewAttempts();
                Set<TopicPartition> skipped = new HashSet<>();
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (skipped.contains(tp)) {
                        continue;
                    }
                    if (draining || failure != null || !progress.containsKey(tp)) {
                        // Not taken now: read it again later, or let the next owner have it.
                        consumer.seek(tp, r.offset());
                        skipped.add(tp);
                        continue;
                    }
                    take(r, tp);
                }
                commitDone(progress.keySet());
                probeKafka();
                if (!draining) {
                    flowControl();
                }
            }
        } catch (WakeupException e) {
            // close() timed out waiting for the drain
        } catch (Throwable e) {
            fail(e, "the task loop failed");
        } finally {
            if (failure != null) {
                List<TaskJob> uncommitted = progress.values().stream().flatMap(p -> p.notDone().stream()).toList();
                LOG.error("actor {}: stopped by a failure; {} task(s) left uncommitted for another actor: {}",
                        settings.actorId(), uncommitted.size(), describe(uncommitted));
            }
            abandon(progress.keySet());
            try {
                consumer.close(CLOSE_TIMEOUT);
            } catch (RuntimeException e) {
                LOG.warn("actor {}: closing the consumer failed: {}", settings.actorId(), e.getMessage());
            }
            workers.shutdownNow();
            probes.shutdownNow();
            stopped.countDown();
        }
    }

    /**
     * Makes the service failed (first cause wins): unhealthy, the loop stops at its next turn
     * and nothing more is committed, so unfinished tasks are re-delivered to another actor.
     */
    private void fail(Throwable cause, String what) {
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = cause;
        }
        LOG.error("actor {}: {}; stopping unhealthy without committing unfinished tasks", settings.actorId(), what,
                cause);
    }

    private List<TaskJob> unfinished() {
        return progress.values().stream().flatMap(p -> p.pending().stream()).filter(j -> !j.finished()).toList();
    }

    private static String describe(Collection<TaskJob> jobs) {
        return jobs.stream().map(j -> j.task.getGroupId() + " (" + j.partition + "@" + j.offset + ")").toList()
                .toString();
    }

    /** One drain step: true once nothing is in play or the drain deadline passed. */
    private boolean drain() {
        if (drainedInPlay == null) {
            consumer.pause(consumer.assignment());
            // Tasks fetched but not started are given back at once.
            List<TaskJob> notStarted = new ArrayList<>();
            for (PartitionProgress<TaskJob> jobs : progress.values()) {
                for (TaskJob j : jobs.pending()) {
                    if (!j.started && !j.finished()) {
                        j.cancel();
                        notStarted.add(j);
                    }
                }
            }
            drainedInPlay = unfinished();
            LOG.info("actor {}: draining for up to {} ms: {} group(s) in play {}, {} not started given back {}",
                    settings.actorId(), settings.drainTimeout().toMillis(), drainedInPlay.size(),
                    describe(drainedInPlay), notStarted.size(), describe(notStarted));
        }
        commitDone(progress.keySet());
        List<TaskJob> playing = unfinished();
        boolean over = nanoClock.getAsLong() - drainDeadlineNanos >= 0;
        if (!playing.isEmpty() && !over) {
            return false;
        }
        List<TaskJob> finished = drainedInPlay.stream().filter(j -> j.state == DONE).toList();
        if (playing.isEmpty()) {
            LOG.info("actor {}: drained: {} group(s) finished {}", settings.actorId(), finished.size(),
                    describe(finished));
        } else {
            LOG.warn("actor {}: drain timeout of {} ms passed: {} group(s) finished {}, {} given back uncommitted "
                    + "for another actor to replay {}", settings.actorId(), settings.drainTimeout().toMillis(),
                    finished.size(), describe(finished), playing.size(), describe(playing));
            abandon(progress.keySet());
        }
        return true;
    }

    private void take(ConsumerRecord<byte[], byte[]> r, TopicPartition tp) {
        Task task;
        int delivery;
        String reason = DeadLetters.INVALID;
        try {
            try {
                task = tasks.deserialize(r.topic(), r.value());
            } catch (RuntimeException e) {
                reason = DeadLetters.undecodable(e);
                throw e;
            }
            if (task == null) {
                reason = DeadLetters.EMPTY;
                throw new IllegalArgumentException("a record without a value");
            }
            GroupPlayer.validate(task);
            delivery = Attempts.delivery(task.getAttempt(), claims.get(tp));
        } catch (RuntimeException e) {
            deadLetter(r, reason, e);
            TaskJob done = new TaskJob(jobContext, tp, r.offset(), null, null, 0);
            done.state = DONE;
            progress.get(tp).add(r.offset(), done);
            return;
        }
        TaskJob job = new TaskJob(jobContext, tp, r.offset(), task, Task.newBuilder(task).setAttempt(delivery).build(),
                claims.get(tp));
        progress.get(tp).add(r.offset(), job);
        inFlight.incrementAndGet();
        workers.execute(job);
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, RuntimeException e) {
        LOG.warn("actor {}: task at {}-{}@{} is unreadable or invalid ({}), dead-lettering it: {}", settings.actorId(),
                r.topic(), r.partition(), r.offset(), reason, e.getMessage());
        metrics.task(TaskOutcome.DEAD_LETTERED);
        try {
            // Acknowledged before the offset can be committed, so a bad task is never lost.
            producer.send(new ProducerRecord<>(topics.dlq().name(), null, r.key(), r.value(),
                    DeadLetters.headers(r.headers(), r.topic(), r.partition(), r.offset(), reason,
                            String.valueOf(e.getMessage()), SERVICE))).get(60, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | java.util.concurrent.TimeoutException failed) {
            throw new IllegalStateException("cannot dead-letter the task at " + r.topic() + "-" + r.partition() + "@"
                    + r.offset(), failed);
        }
    }

    /**
     * Pauses the partitions while twice {@code groupsInFlight} tasks are taken (as many again
     * wait, fetched, for a free player, so a finished group's player starts the next one at
     * once instead of after a fetch) or while env-service or Kafka is unavailable, and resumes
     * the claimed ones otherwise.
     */
    private void flowControl() {
        if (inFlight.get() >= 2 * settings.groupsInFlight() || !envService.isUp() || !kafkaCluster.isUp()) {
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
            Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(partitions, KAFKA_TIMEOUT);
            for (TopicPartition tp : partitions) {
                OffsetAndMetadata c = committed.get(tp);
                long offset = c != null ? c.offset() : consumer.position(tp, KAFKA_TIMEOUT);
                commits.put(tp, new OffsetAndMetadata(offset, metadata(assignments(c) + 1)));
            }
            consumer.commitSync(commits, KAFKA_TIMEOUT);
            kafkaAnswered();
        } catch (RebalanceInProgressException | CommitFailedException | RetriableException e) {
            kafkaTrouble(e);
            LOG.info("actor {}: claiming {} deferred: {}", settings.actorId(), partitions, e.getMessage());
            consumer.pause(partitions);
            unclaimed.addAll(partitions);
            return;
        }
        commits.forEach((tp, c) -> {
            claims.put(tp, assignments(c));
            progress.put(tp, new PartitionProgress<>(c.offset(), j -> j.state == DONE));
            unclaimed.remove(tp);
        });
        LOG.info("actor {}: claimed {}", settings.actorId(), commits.entrySet().stream()
                .map(e -> e.getKey() + " (assignment " + assignments(e.getValue()) + ")").toList());
    }

    private String metadata(long assignments) {
        return ClaimMetadata.encode(assignments, settings.actorId());
    }

    /** The assignment counter in a committed offset's metadata; 0 when there is none. */
    static long assignments(OffsetAndMetadata committed) {
        return ClaimMetadata.assignments(committed == null ? null : committed.metadata());
    }

    /**
     * Commits, per partition, the offset after the longest run of finished tasks. A commit
     * refused because a rebalance is under way is retried on the next loop; the tasks stay
     * pending until it succeeds.
     */
    private void commitDone(Collection<TopicPartition> partitions) {
        if (failure != null) {
            return; // a failed actor commits nothing more
        }
        Map<TopicPartition, OffsetAndMetadata> commits = new HashMap<>();
        for (TopicPartition tp : partitions) {
            PartitionProgress<TaskJob> jobs = progress.get(tp);
            if (jobs != null) {
                jobs.frontier().ifPresent(next -> commits.put(tp,
                        new OffsetAndMetadata(next, metadata(claims.getOrDefault(tp, 0L)))));
            }
        }
        if (commits.isEmpty()) {
            return;
        }
        try {
            consumer.commitSync(commits, KAFKA_TIMEOUT);
            kafkaAnswered();
        } catch (RebalanceInProgressException | CommitFailedException | RetriableException e) {
            LOG.info("actor {}: commit deferred: {}", settings.actorId(), e.getMessage());
            kafkaTrouble(e);
            return;
        }
        commits.forEach((tp, offset) -> {
            PartitionProgress<TaskJob> jobs = progress.get(tp);
            if (jobs != null) {
                jobs.committed(offset.offset());
            }
        });
    }

    private void kafkaAnswered() {
        lastKafkaAnswerNanos = nanoClock.getAsLong();
        kafkaCluster.up();
    }

    /** A timeout of a Kafka call means Kafka is unavailable; a rebalance does not. */
    private void kafkaTrouble(RuntimeException e) {
        if (e instanceof org.apache.kafka.common.errors.TimeoutException) {
            kafkaCluster.down(e.getMessage());
        }
    }

    /**
     * While nothing else has heard from Kafka for a while (no commit), asks the group coordinator
     * for the committed offsets: an idle actor notices an outage too, and its end.
     */
    private void probeKafka() {
        long now = nanoClock.getAsLong();
        if (now - lastKafkaAnswerNanos < KAFKA_PROBE_EVERY.toNanos()) {
            return;
        }
        lastKafkaAnswerNanos = now; // at most one probe per period, answered or not
        try {
            Set<TopicPartition> assigned = consumer.assignment();
            if (assigned.isEmpty()) {
                consumer.listTopics(CLOSE_TIMEOUT);
            } else {
                consumer.committed(assigned, CLOSE_TIMEOUT);
            }
            kafkaAnswered();
        } catch (RetriableException e) {
            kafkaTrouble(e);
        }
    }

    /**
     * Serves the jobs' requests for a new delivery attempt (after an outage): raises the
     * partition's assignment counter above the one the job played under, keeping the committed
     * offset, as a claim does. A request that cannot be committed now waits for the next loop.
     */
    private void renewAttempts() {
        List<TaskJob.Renewal> requests = new ArrayList<>();
        for (TaskJob.Renewal r = renewals.poll(); r != null; r = renewals.poll()) {
            requests.add(r);
        }
        List<TaskJob.Renewal> later = new ArrayList<>();
        for (TaskJob.Renewal r : requests) {
            Long current = claims.get(r.partition());
            PartitionProgress<TaskJob> jobs = progress.get(r.partition());
            if (current == null || jobs == null) {
                r.result().completeExceptionally(new TaskJob.Abandoned()); // revoked: the job is being abandoned
                continue;
            }
            if (current > r.above()) {
                r.result().complete(current);
                continue;
            }
            OffsetAndMetadata raised = new OffsetAndMetadata(jobs.committedOffset(), metadata(current + 1));
            try {
                consumer.commitSync(Map.of(r.partition(), raised), KAFKA_TIMEOUT);
                kafkaAnswered();
            } catch (RebalanceInProgressException | CommitFailedException | RetriableException e) {
                LOG.info("actor {}: new attempt on {} deferred: {}", settings.actorId(), r.partition(), e.getMessage());
                kafkaTrouble(e);
                later.add(r);
                continue;
            }
            claims.put(r.partition(), current + 1);
            r.result().complete(current + 1);
        }
        renewals.addAll(later);
    }

    /** Starts probing env-service (once per outage) until it answers. */
    private void probeEnvUntilUp(int n) {
        if (n == 0 && !probingEnv.compareAndSet(false, true)) {
            return;
        }
        try {
            probes.schedule(() -> {
                try {
                    player.probeEnv();
                    probingEnv.set(false);
                    envService.up();
                } catch (RuntimeException e) {
                    LOG.debug("actor {}: env-service probe {} failed: {}", settings.actorId(), n, e.getMessage());
                    probeEnvUntilUp(n + 1);
                } catch (Throwable e) {
                    probingEnv.set(false);
                    fail(e, "probing env-service failed");
                }
            }, backoff.delay(n).toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            probingEnv.set(false); // stopping
        }
    }

    /** Gives up every unfinished task of {@code partitions}; none publishes a step after this returns. */
    private void abandon(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : List.copyOf(partitions)) {
            PartitionProgress<TaskJob> jobs = progress.remove(tp);
            if (jobs != null) {
                jobs.pending().forEach(TaskJob::cancel);
            }
        }
    }

    private void forget(Collection<TopicPartition> partitions) {
        partitions.forEach(tp -> {
            claims.remove(tp);
            progress.remove(tp);
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
            joined = true;
            consumer.pause(partitions); // until claimed, and for good while draining
            if (!draining && !partitions.isEmpty()) {
                claim(Set.copyOf(partitions));
            }
        }
    }

    /**
     * Stops taking tasks, drains (see the class doc), leaves the group and closes the producer.
     * Returns within the drain timeout and a few seconds ({@link #CLOSE_MARGIN} and the bounded
     * closes of the clients), whatever the players and Kafka do.
     */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            t = pollThread;
            if (!draining) {
                drainDeadlineNanos = nanoClock.getAsLong() + settings.drainTimeout().toNanos();
                draining = true;
            }
        }
        if (t == null) {
            return;
        }
        try {
            long waitNanos = drainDeadlineNanos - nanoClock.getAsLong() + CLOSE_MARGIN.toNanos();
            if (!stopped.await(Math.max(0, waitNanos), TimeUnit.NANOSECONDS)) {
                LOG.warn("actor {}: the task loop did not stop by the drain deadline; waking it up", settings.actorId());
                consumer.wakeup();
                if (!stopped.await(CLOSE_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS)) {
                    LOG.warn("actor {}: the task loop is still busy; closing without it", settings.actorId());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(CLOSE_TIMEOUT);
    }

    /** True once no player thread runs any more (they may outlive {@link #close()} in a long call). */
    public boolean playersStopped() {
        return workers == null || workers.isTerminated();
    }
}
