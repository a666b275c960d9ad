package io.rollout.learner.trainer;

import io.micrometer.core.instrument.MeterRegistry;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.SchedulerCheckpoint;
import io.rollout.learner.scheduler.TaskDispatch;
import io.rollout.learner.trainer.SampleAssembler.Group;
import io.rollout.learner.trainer.SampleAssembler.Located;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.records.LoraConfig;
import io.rollout.records.TrainingSample;
import io.rollout.runtime.kafka.KafkaClients;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.serde.Packed;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.Partitions;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.weights.WeightPublisher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer as a service: reads {@code train.samples} (read-committed, partitions assigned
 * by hand, positions from its own checkpoint), assembles batches of complete groups, updates
 * the adapter, publishes each version on {@code policy.weights}, tells the scheduler which
 * groups are done, and checkpoints every {@code checkpointEvery} versions and on close.
 *
 * <p>Why its own offsets: the adapter and optimizer state cannot join a Kafka transaction, so
 * the checkpoint stores, next to them, where in {@code train.samples} they stand. A restart
 * loads the newest checkpoint and replays from there: samples trained after it are trained
 * again (their effect was lost with the process), samples trained before it are not.
 *
 * <p>Longer than most classes because it is the trainer's Kafka edge: reading samples, dead
 * letters, publishing, checkpoints and their restore share the consumer, the version and the resume
 * offsets. The parts decided without Kafka are SampleAssembler, FinishedGroups, PolicyTrainer and
 * TrainerCheckpoint; the scheduler is reached through TaskDispatch, and Kafka through
 * {@link Edges}.
 */
public final class TrainerService implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TrainerService.class);
    private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(30);

    /**
     * How the service runs.
     *
     * @param batchGroups B: complete groups per update
     * @param maxStaleness samples from versions older than {@code version - maxStaleness} are dropped
     * @param checkpointEvery write a checkpoint every this many versions (and on close)
     * @param exportDir when set, each version is also written as a PEFT directory {@code v<version>} here
     * @param initAdapter a PEFT adapter to start from on a fresh run, or null for a new one from {@code lora}
     * @param acceptSampleLoss when the checkpoint's resume offset is below the log start (retention
     *     deleted untrained samples), go on from the log start instead of stopping with an error
     * @param stopTimeout how long {@link #close()} may take: an update in progress is abandoned,
     *     the checkpoint written, and anything still waiting on the broker then given up
     */
    public record Settings(int batchGroups, int maxStaleness, int checkpointEvery, String adapterName, LoraSpec lora,
            Path initAdapter, Path exportDir, boolean acceptSampleLoss, Duration stopTimeout) {

        public static final Duration DEFAULT_STOP_TIMEOUT = Duration.ofSeconds(20);

        public Settings(int batchGroups, int maxStaleness, int checkpointEvery, String adapterName, LoraSpec lora,
                Path initAdapter, Path exportDir) {
            this(batchGroups, maxStaleness, checkpointEvery, adapterName, lora, initAdapter, exportDir, false,
                    DEFAULT_STOP_TIMEOUT);
        }

        public Settings {
            if (stopTimeout == null || stopTimeout.isNegative() || stopTimeout.isZero()) {
                throw new IllegalArgumentException("stop-timeout must be positive, got " + stopTimeout);
            }
            if (batchGroups < 1) {
                throw new IllegalArgumentException("batch-groups must be >= 1, got " + batchGroups);
            }
            if (maxStaleness < 0) {
                throw new IllegalArgumentException("max-staleness must be >= 0, got " + maxStaleness);
            }
            if (checkpointEvery < 1) {
                throw new IllegalArgumentException("checkpoint-every must be >= 1, got " + checkpointEvery);
            }
        }
    }

    /** Told about each update and about the start; e.g. the CLI's trained-samples log. */
    public interface Listener {
        default void started(long version, Long checkpointVersion) {}

        default void updated(long version, List<Group> groups, UpdateStats stats) {}

        /** A group left without being trained: discarded here, or abandoned by the scheduler. */
        default void finishedUntrained(String groupId, int attempt, String outcome, String reason) {}
    }

    /**
     * Where the service meets Kafka: the clients of train.samples and of dead letters, the
     * identity of the samples topic that a checkpoint's offsets are bound to, and the publisher
     * of versions. Separate so that the delivery rules (resume offsets, the identity check, dead
     * letters, version numbering) can be checked with Kafka's mock clients and fakes;
     * {@link #real} is what a deployed trainer uses.
     *
     * @param clients makes the byte[] consumer of train.samples and the dead-letter producer
     * @param source asked once per start, before the checkpoint is restored
     * @param publisher opened once per start, after the checkpoint is restored
     */
    record Edges(KafkaClients clients, Supplier<TrainerCheckpoint.SampleSource> source,
            Supplier<VersionPublisher> publisher) {

        Edges {
            Objects.requireNonNull(clients, "clients");
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(publisher, "publisher");
        }

        /**
         * Real clients, the cluster and topic id as the brokers report them, and a
         * {@link WeightPublisher} that scans policy.weights for the versions already there.
         */
        static Edges real(Properties kafka, TopicCatalog topics, String adapterName, MeterRegistry registry) {
            return new Edges(KafkaClients.real(), () -> describeSource(kafka, topics.samples().name()),
                    () -> VersionPublisher.of(WeightPublisher.builder(kafka, topics, adapterName)
                            .meterRegistry(registry).open()));
        }
    }

    /** What the service uses of a {@link WeightPublisher}. */
    interface VersionPublisher extends AutoCloseable {

        /** The newest version already on policy.weights, also from an earlier run; -1 if none. */
        long lastPublishedVersion();

        /**
         * Returns once the version is acknowledged.
         *
         * @throws org.apache.kafka.common.KafkaException if it could not be written; retried
         */
        void publish(long version, byte[] bytes, LoraConfig lora);

        @Override
        void close();

        static VersionPublisher of(WeightPublisher publisher) {
            return new VersionPublisher() {
                @Override
                public long lastPublishedVersion() {
                    return publisher.lastPublishedVersion();
                }

                @Override
                public void publish(long version, byte[] bytes, LoraConfig lora) {
                    publisher.publish(version, bytes, lora);
                }

                @Override
                public void close() {
                    publisher.close();
                }
            };
        }
    }

    private final Policy policy;
    private final TrainerConfig trainerConfig;
    private final Settings settings;
    private final TopicCatalog topics;
    private final Properties kafka;
    private final Edges edges;
    private final CheckpointStore store;
    private final TaskDispatch dispatch;
    private final TrainerMetrics metrics;
    private final Clock clock;
    private final Listener listener;
    private final SampleAssembler assembler = new SampleAssembler();
    private final CountDownLatch stopped = new CountDownLatch(1);

    private PolicyTrainer trainer;
    private VersionPublisher publisher;
    private Consumer<byte[], byte[]> consumer;
    private Producer<byte[], byte[]> dlq;
    private List<TopicPartition> partitions;
    private volatile long version;
    private volatile boolean running;
    private volatile Throwable failure;
    private Thread thread;
    private long waitStartNanos;
    /** The unfiltered groups of the batch being trained, marked done once it is published. */
    private List<Group> taken = List.of();
    /** Set by {@link #close()}: the update in progress is abandoned at its next forward pass. */
    private volatile boolean stopping;
    private TrainerCheckpoint.SampleSource source;
    /** The version of the newest checkpoint on disk, -1 before the first. */
    private long checkpointedVersion = -1;
    /** Per partition, offsets of dead letters not yet acknowledged by the broker. */
    private final Map<Integer, java.util.TreeSet<Long>> unackedDeadLetters = new HashMap<>();

    /**
     * @param dispatch what hands out the tasks, started, informed, checkpointed and closed by this
     *     service; {@link TaskDispatch#NONE} when samples come from elsewhere
     */
    public TrainerService(Policy policy, TrainerConfig trainerConfig, Settings settings, TopicCatalog topics,
            Properties kafka, CheckpointStore store, TaskDispatch dispatch, MeterRegistry registry, Clock clock,
            Listener listener) {
        this(policy, trainerConfig, settings, topics, kafka, store, dispatch, registry, clock, listener,
                Edges.real(kafka, topics, settings.adapterName(), registry));
    }

    /** As above, reaching Kafka through {@code edges}. */
    TrainerService(Policy policy, TrainerConfig trainerConfig, Settings settings, TopicCatalog topics,
            Properties kafka, CheckpointStore store, TaskDispatch dispatch, MeterRegistry registry, Clock clock,
            Listener listener, Edges edges) {
        this.policy = policy;
        this.trainerConfig = trainerConfig;
        this.settings = settings;
        this.topics = topics;
        this.kafka = kafka;
        this.edges = Objects.requireNonNull(edges, "edges");
        this.store = store;
        this.dispatch = Objects.requireNonNull(dispatch, "dispatch");
        this.metrics = new TrainerMetrics(registry);
        metrics.stalenessBound(registry, settings.maxStaleness());
        this.clock = clock;
        this.listener = listener == null ? new Listener() {} : listener;
    }

    /**
     * Restores the newest readable checkpoint (if any), checks that its offsets belong to this
     * cluster and topic, connects, and starts training on its own thread.
     *
     * @throws IllegalStateException if the checkpoint was written against another cluster or topic;
     *     a start that throws is a {@link #failure()}
     */
    public synchronized void start() {
        try {
            startOrThrow();
        } catch (RuntimeException | Error e) {
            failure = e;
            throw e;
        }
    }

    private void startOrThrow() {
        source = edges.source().get();
        TrainerCheckpoint restored = restore();
        if (restored != null && restored.source() != null) {
            String mismatch = restored.source().mismatch(source);
            if (mismatch != null) {
                trainer.close();
                trainer = null;
                throw new IllegalStateException("cannot resume from checkpoint " + restored.version() + ": " + mismatch
                        + ". Its sample offsets mean nothing here. Point --checkpoint-dir at an empty directory to "
                        + "start a new run (the exported adapter can seed it with --init-adapter)");
            }
        }
        publisher = edges.publisher().get();
        if (publisher.lastPublishedVersion() > version) {
            LOG.warn("policy.weights already holds version {} but the checkpoint is at {}: the updates in between "
                    + "were lost with the process and are redone; numbering continues after {} so readers move on",
                    publisher.lastPublishedVersion(), version, publisher.lastPublishedVersion());
            version = publisher.lastPublishedVersion();
        }
        metrics.version(version);
        consumer = edges.clients().consumer(consumerProperties());
        partitions = Partitions.of(consumer, topics.samples().name(), METADATA_TIMEOUT);
        consumer.assign(partitions);
        for (TopicPartition tp : partitions) {
            Long offset = restored == null ? null : restored.sampleOffsets().get(tp.partition());
            if (offset == null) {
                consumer.seekToBeginning(List.of(tp));
            } else {
                consumer.seek(tp, offset);
            }
        }
        dlq = edges.clients().producer(producerProperties());
        dispatch.versionChanged(version);
        dispatch.start(restored == null ? null : restored.scheduler(), (groupId, attempt, reason) ->
                listener.finishedUntrained(groupId, attempt, "abandoned", reason));
        listener.started(version, restored == null ? null : restored.version());
        LOG.info("trainer started at version {} ({}), reading {} partitions of {}", version,
                restored == null ? "fresh run" : "checkpoint " + restored.version(), partitions.size(),
                topics.samples().name());
        running = true;
        waitStartNanos = System.nanoTime();
        thread = new Thread(this::loop, "trainer");
        thread.start();
    }

    private static TrainerCheckpoint.SampleSource describeSource(Properties kafka, String topic) {
        try (Admin admin = Admin.create(kafka)) {
            String cluster = admin.describeCluster().clusterId().get(METADATA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get(METADATA_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(topic);
            return new TrainerCheckpoint.SampleSource(cluster, topic, d.topicId().toString(), d.partitions().size());
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("cannot describe the Kafka cluster and topic " + topic + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while describing topic " + topic, e);
        }
    }

    /**
     * Loads the newest checkpoint that reads back whole; an unreadable one (a disk error, a
     * file truncated outside the store) is logged, counted and skipped for the one before it.
     */
    private TrainerCheckpoint restore() {
        List<Path> all = new ArrayList<>(store.checkpoints());
        java.util.Collections.reverse(all);
        for (Path dir : all) {
            try {
                TrainerCheckpoint ckpt = TrainerCheckpoint.read(dir);
                trainer = ckpt.restoreTrainer(dir, policy, trainerConfig);
                assembler.restore(ckpt.finishedGroups(), ckpt.doneGroups());
                version = ckpt.version();
                checkpointedVersion = ckpt.version();
                LOG.info("restored checkpoint {}: version {}, {} optimizer steps, offsets {}", dir, ckpt.version(),
                        ckpt.optimizerSteps(), ckpt.sampleOffsets());
                return ckpt;
            } catch (RuntimeException e) {
                metrics.unreadableCheckpoint();
                LOG.error("checkpoint {} is unreadable, trying the one before it: {}", dir, e.toString());
            }
        }
        if (!all.isEmpty()) {
            throw new IllegalStateException("none of the " + all.size() + " checkpoints in " + all.get(0).getParent()
                    + " is readable (see the errors above); refusing to start a fresh run over them");
        }
        LoraAdapter adapter = settings.initAdapter() != null ? policy.loadAdapter(settings.initAdapter())
                : policy.newAdapter(settings.lora(), trainerConfig.seed());
        trainer = new PolicyTrainer(policy, adapter, trainerConfig);
        version = 0;
        return null;
    }

    private void loop() {
        try {
            while (running) {
                if (dispatch.failure() != null) {
                    throw new IllegalStateException("the task scheduler failed", dispatch.failure());
                }
                for (ConsumerRecord<byte[], byte[]> record : poll()) {
                    accept(record);
                }
                List<Group> batch = takeBatch();
                if (batch != null) {
                    metrics.batchWait(Duration.ofNanos(System.nanoTime() - waitStartNanos));
                    if (!train(batch)) {
                        break;
                    }
                    waitStartNanos = System.nanoTime();
                }
            }
        } catch (Throwable t) {
            failure = t;
            running = false;
            LOG.error("trainer stopped at version {}: {}", version, t.toString(), t);
        } finally {
            stopped.countDown();
        }
    }

    /**
     * One poll. The consumer has no automatic offset reset: a resume offset below the log start
     * means retention deleted samples that were never trained, which stops the trainer unless
     * the operator accepted the loss.
     */
    private org.apache.kafka.clients.consumer.ConsumerRecords<byte[], byte[]> poll() {
        try {
            return consumer.poll(Duration.ofMillis(200));
        } catch (OffsetOutOfRangeException e) {
            Map<TopicPartition, Long> starts = consumer.beginningOffsets(e.partitions(), METADATA_TIMEOUT);
            StringBuilder gaps = new StringBuilder();
            long lost = 0;
            for (Map.Entry<TopicPartition, Long> out : e.offsetOutOfRangePartitions().entrySet()) {
                long start = starts.getOrDefault(out.getKey(), -1L);
                gaps.append(' ').append(out.getKey()).append(": resume at ").append(out.getValue())
                        .append(", log starts at ").append(start);
                lost += Math.max(0, start - out.getValue());
            }
            if (!settings.acceptSampleLoss()) {
                throw new IllegalStateException("samples the trainer has not trained were deleted from "
                        + topics.samples().name() + " (retention is shorter than the trainer's lag or downtime):"
                        + gaps + ". Raise the topic's retention.ms; to go on from the log start and lose those "
                        + "samples, restart with --accept-sample-loss", e);
            }
            LOG.error("skipping {} samples deleted from {} before they were trained (--accept-sample-loss):{}", lost,
                    topics.samples().name(), gaps);
            metrics.lostSamples(lost);
            consumer.seekToBeginning(e.partitions());
            return org.apache.kafka.clients.consumer.ConsumerRecords.empty();
        }
    }

    private void accept(ConsumerRecord<byte[], byte[]> record) {
        TrainingSample sample;
        try {
            sample = topics.samples().valueSerde().deserializer().deserialize(record.topic(), record.value());
        } catch (RuntimeException e) {
            deadLetter(record, DeadLetters.undecodable(e), e);
            return;
        }
        try {
            checked(toSequence(sample));
            if (sample.getGroupSamples() < 1) {
                throw new IllegalArgumentException("groupSamples is " + sample.getGroupSamples()
                        + ": written by an advantage stage that does not count a group's samples");
            }
        } catch (RuntimeException e) {
            deadLetter(record, DeadLetters.INVALID, e);
            // The rest of its group cannot complete it: drop the group whole.
            SampleAssembler.GroupKey key = new SampleAssembler.GroupKey(sample.getGroupId().toString(),
                    sample.getAttempt());
            assembler.discard(key);
            dispatch.discarded(key.groupId(), key.attempt());
            listener.finishedUntrained(key.groupId(), key.attempt(), "discarded", "invalid sample");
            return;
        }
        SampleAssembler.Outcome outcome = assembler.add(record.partition(), record.offset(), sample);
        if (outcome == SampleAssembler.Outcome.DUPLICATE || outcome == SampleAssembler.Outcome.ALREADY_DONE) {
            metrics.ignored();
        }
    }

    private void deadLetter(ConsumerRecord<byte[], byte[]> record, String reason, RuntimeException e) {
        LOG.warn("sample at {}-{}@{} sent to {} ({}): {}", record.topic(), record.partition(), record.offset(),
                topics.dlq().name(), reason, e.getMessage());
        metrics.deadLettered();
        int partition = record.partition();
        long offset = record.offset();
        synchronized (unackedDeadLetters) {
            unackedDeadLetters.computeIfAbsent(partition, p -> new java.util.TreeSet<>()).add(offset);
        }
        // Not awaited: until the broker acknowledges it, checkpoints resume at or before its offset,
        // so a dead letter lost with the process is written again by the replay.
        dlq.send(new ProducerRecord<>(topics.dlq().name(), null, record.key(), record.value(),
                DeadLetters.headers(record.headers(), record.topic(), partition, offset, reason,
                        String.valueOf(e.getMessage()), "trainer")), (meta, failed) -> {
                    if (failed == null) {
                        synchronized (unackedDeadLetters) {
                            unackedDeadLetters.get(partition).remove(offset);
                        }
                    } else {
                        LOG.warn("dead letter of {}-{}@{} not written ({}); the next start reads the sample again",
                                record.topic(), partition, offset, failed.toString());
                    }
                });
    }

    /** B complete groups with their stale samples removed, or null while fewer are ready. */
    private List<Group> takeBatch() {
        if (assembler.completeGroups() < settings.batchGroups()) {
            return null;
        }
        List<Group> originals = new ArrayList<>();
        List<Group> batch = new ArrayList<>();
        List<Group> otherAttempts = new ArrayList<>();
        java.util.Set<String> ids = new java.util.HashSet<>();
        Group g;
        while (batch.size() < settings.batchGroups() && (g = assembler.pollComplete()) != null) {
            if (!ids.add(g.key().groupId())) {
                // Another attempt of a group already in this batch: left for after it, when it is ignored.
                otherAttempts.add(g);
                continue;
            }
            List<Located> fresh = g.samples().stream()
                    .filter(l -> version - l.sample().getPolicyVersion() <= settings.maxStaleness()).toList();
            int stale = g.samples().size() - fresh.size();
            if (stale > 0) {
                metrics.stale(stale);
                LOG.info("group {} attempt {}: {} of {} samples older than version {} - {} dropped", g.key().groupId(),
                        g.key().attempt(), stale, g.samples().size(), version, settings.maxStaleness());
            }
            if (fresh.isEmpty()) {
                assembler.markDone(g);
                dispatch.discarded(g.key().groupId(), g.key().attempt());
                listener.finishedUntrained(g.key().groupId(), g.key().attempt(), "discarded", "all samples stale");
                continue;
            }
            originals.add(g);
            batch.add(new Group(g.key(), g.partition(), fresh));
        }
        assembler.returnComplete(otherAttempts);
        if (batch.size() < settings.batchGroups()) {
            assembler.returnComplete(originals);
            return null;
        }
        taken = originals;
        return batch;
    }

    /**
     * Trains one batch and publishes the version; false if {@link #close()} abandoned the update
     * (state rolled back to the last completed version, the batch's groups left untrained).
     */
    private boolean train(List<Group> batch) {
        List<TrainingSequence> sequences = new ArrayList<>();
        for (Group group : batch) {
            for (Located l : group.samples()) {
                sequences.add(toSequence(l.sample()));
            }
        }
        // The state a stop in the middle returns to, unless a checkpoint of it is on disk already.
        PolicyTrainer.Snapshot before = checkpointedVersion == version ? null : trainer.snapshot();
        long t0 = System.nanoTime();
        UpdateStats stats;
        try {
            stats = trainer.update(sequences, version, () -> stopping);
        } catch (PolicyTrainer.CancelledException e) {
            if (before != null) {
                trainer.restore(before);
            }
            assembler.returnComplete(taken);
            taken = List.of();
            metrics.abandonedUpdate();
            LOG.info("stopping: the update to version {} was abandoned after {} ms ({}); its {} groups stay untrained "
                    + "and are read again on restart", version + 1, Duration.ofNanos(System.nanoTime() - t0).toMillis(),
                    e.getMessage(), batch.size());
            return false;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        for (Group group : batch) {
            for (Located l : group.samples()) {
                metrics.staleness(version - l.sample().getPolicyVersion());
            }
        }
        if (!Double.isFinite(stats.loss()) || !Double.isFinite(stats.gradNormMean())) {
            throw new IllegalStateException("non-finite loss " + stats.loss() + " or gradient norm "
                    + stats.gradNormMean() + " in the update to version " + (version + 1)
                    + "; nothing published, restart resumes from the last checkpoint");
        }
        long next = version + 1;
        version = next;
        dispatch.versionChanged(next);
        metrics.version(next);
        metrics.updated(stats, took);
        long p0 = System.nanoTime();
        publish(next);
        metrics.published(Duration.ofNanos(System.nanoTime() - p0));
        if (settings.exportDir() != null) {
            export(next);
        }
        for (Group original : taken) {
            assembler.markDone(original);
            dispatch.trained(original.key().groupId(), original.key().attempt());
        }
        taken = List.of();
        listener.updated(next, batch, stats);
        LOG.info("version {}: {} groups, {} samples, {} tokens, loss {}, kl {}, clip {}, grad norm {}, {} ms", next,
                batch.size(), stats.samples(), stats.tokens(), fmt(stats.loss()), fmt(stats.kl()),
                fmt(stats.clipFraction()), fmt(stats.gradNormMean()), took.toMillis());
        if (next % settings.checkpointEvery() == 0) {
            checkpoint();
        }
        return true;
    }

    /**
     * Publishes a version, retrying while the broker is unreachable (with backoff up to 30 s) so
     * that an outage pauses training instead of ending it. A stop gives up: the version is then in
     * the checkpoint but not on policy.weights, and the next published version carries it.
     */
    private void publish(long next) {
        byte[] bytes = trainer.adapter().toBytes();
        LoraConfig lora = loraConfig(trainer.adapter().spec());
        long backoffMs = 500;
        while (true) {
            try {
                publisher.publish(next, bytes, lora);
                return;
            } catch (org.apache.kafka.common.KafkaException e) {
                if (stopping) {
                    LOG.warn("stopping: version {} was not published ({}); it is kept in the checkpoint", next,
                            e.toString());
                    return;
                }
                metrics.publishRetry();
                LOG.warn("cannot publish version {} ({}); retrying in {} ms", next, e.toString(), backoffMs);
                sleepUnlessStopping(backoffMs);
                backoffMs = Math.min(30_000, backoffMs * 2);
            }
        }
    }

    private void sleepUnlessStopping(long ms) {
        long end = System.nanoTime() + ms * 1_000_000;
        while (!stopping && System.nanoTime() < end) {
            try {
                Thread.sleep(Math.min(100, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static String fmt(double v) {
        return String.format("%.4g", v);
    }

    private void export(long v) {
        Path target = settings.exportDir().resolve(String.format("v%012d", v));
        Path tmp = settings.exportDir().resolve(".tmp-" + target.getFileName());
        try {
            Files.createDirectories(tmp);
            trainer.adapter().save(tmp);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("could not export version {} to {}: {}", v, target, e.toString());
        }
    }

    /**
     * Writes a checkpoint of the current state; call from the training thread or after it stopped.
     * It needs no broker: a dead letter the broker has not acknowledged holds its partition's
     * resume offset at the dead-lettered record, so a replay writes it again.
     */
    private void checkpoint() {
        long t0 = System.nanoTime();
        Map<Integer, Long> positions = new HashMap<>();
        for (TopicPartition tp : partitions) {
            positions.put(tp.partition(), consumer.position(tp));
        }
        Map<Integer, Long> resume = assembler.resumeOffsets(positions);
        synchronized (unackedDeadLetters) {
            unackedDeadLetters.forEach((p, offsets) -> {
                if (!offsets.isEmpty()) {
                    resume.merge(p, offsets.first(), Math::min);
                }
            });
        }
        SchedulerCheckpoint sched = dispatch.checkpoint();
        TrainerCheckpoint ckpt = new TrainerCheckpoint(TrainerCheckpoint.FORMAT, version, trainer.optimizerSteps(),
                trainerConfig.seed(), clock.millis(), resume, null, assembler.finishedSnapshot(), source, sched);
        Path dir = ckpt.writeTo(store, trainer);
        checkpointedVersion = version;
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        metrics.checkpointed(took);
        metrics.finishedGroupEntries(assembler.finishedEntries());
        LOG.info("checkpoint {} written in {} ms (resume offsets {})", dir, took.toMillis(), resume);
    }

    static TrainingSequence toSequence(TrainingSample s) {
        int[] prompt = Packed.toInts(s.getPromptTokens());
        int[] response = Packed.toInts(s.getResponseTokens());
        float[] old = Packed.toFloats(s.getOldLogProbs());
        return new TrainingSequence(prompt, response, old, s.getAdvantage());
    }

    private void checked(TrainingSequence seq) {
        policy.model().checkTokens(seq.prompt());
        policy.model().checkTokens(seq.response());
        int positions = policy.model().config().maxPositions();
        if (seq.prompt().length + seq.response().length > positions) {
            throw new IllegalArgumentException("prompt + response of " + (seq.prompt().length + seq.response().length)
                    + " tokens exceed the model's " + positions + " positions");
        }
    }

    /** The manifest form of a LoRA spec. */
    public static LoraConfig loraConfig(LoraSpec spec) {
        return LoraConfig.newBuilder().setBaseModel(spec.baseModel()).setRank(spec.rank()).setAlpha((float) spec.alpha())
                .setDropout((float) spec.dropout()).setTargetModules(new ArrayList<>(spec.targetModules())).build();
    }

    /**
     * Keys and values stay bytes (the clients from {@link KafkaClients} take byte[] (de)serializers):
     * a sample that does not decode is dead-lettered here instead of failing the poll.
     */
    private Properties consumerProperties() {
        Properties p = KafkaSettings.assignedConsumer(kafka, "trainer-samples");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        // Every position is set by hand; one that falls off the log is an error, never a silent jump.
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
        return p;
    }

    private Properties producerProperties() {
        return KafkaSettings.producer(kafka, "trainer-dlq");
    }

    public long version() {
        return version;
    }

    /**
     * Liveness ({@code /health}): not failed. True while {@link #start()} restores the checkpoint
     * and loads the model, however long that takes; false once training or the start failed.
     */
    public boolean healthy() {
        return failure == null;
    }

    /**
     * Readiness ({@code /ready}): started (checkpoint restored, consumer at its offsets, model
     * loaded, scheduler running) and neither failed nor stopped.
     */
    public boolean ready() {
        return running && failure == null;
    }

    public Throwable failure() {
        return failure;
    }

    /** Blocks until the training thread ends (close or failure). */
    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Stops within {@link Settings#stopTimeout()}: an update in progress is abandoned at its
     * next forward pass (its groups stay untrained and are read again on restart), a final
     * checkpoint of the last completed version is written (unless training failed, so the last
     * good checkpoint stays the newest), and the Kafka clients are closed with what time is left.
     */
    @Override
    public synchronized void close() {
        long deadline = System.nanoTime() + settings.stopTimeout().toNanos();
        stopping = true;
        running = false;
        boolean joined = true;
        if (thread != null) {
            try {
                // Most of the budget; the checkpoint and the clients' close need the rest.
                thread.join(Math.max(1, settings.stopTimeout().toMillis() * 3 / 4));
                joined = !thread.isAlive();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                joined = false;
            }
            if (!joined) {
                LOG.error("the training thread did not stop within {}; exiting without a final checkpoint (the last "
                        + "one, version {}, stays the newest)", settings.stopTimeout(), checkpointedVersion);
            } else if (failure == null) {
                try {
                    checkpoint();
                } catch (RuntimeException e) {
                    LOG.error("final checkpoint failed; the last one (version {}) stays the newest", checkpointedVersion,
                            e);
                }
            }
        }
        dispatch.close();
        Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
        if (consumer != null) {
            closeQuietly(() -> consumer.close(left));
        }
        if (dlq != null) {
            closeQuietly(() -> dlq.close(left));
        }
        closeQuietly(publisher);
        if (trainer != null && joined) {
            trainer.close();
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("error closing {}: {}", c.getClass().getSimpleName(), e.toString());
        }
    }
}
