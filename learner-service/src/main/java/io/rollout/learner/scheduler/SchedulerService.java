package io.rollout.learner.scheduler;

import io.micrometer.core.instrument.MeterRegistry;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Task;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.Attempts;
import io.rollout.schemas.topics.Partitions;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link TaskScheduler} against Kafka: produces its tasks to rollout.tasks (key: group
 * id; idempotent, acks=all) and feeds it the drops announced on rollout.dropped. The drops
 * are read without a consumer group, from manually assigned partitions, and their positions
 * go into the {@link SchedulerCheckpoint}, so that they always match the scheduler's state.
 * A record on rollout.dropped that cannot be decoded is logged, counted and skipped.
 *
 * <p>Recovery: {@link #checkpoint()} captures the state, the drop positions and the end
 * offsets of rollout.tasks at one instant with no send outstanding. Started from it, the
 * service restores the state, reads the drops from the stored positions, and first reads
 * rollout.tasks from the stored end offsets to the current end, so the tasks produced
 * between the checkpoint and a crash are in flight again instead of being produced twice.
 *
 * <p>{@link #tick()} runs one iteration; {@link #start} runs them on a daemon thread until
 * {@link #close()}. {@link #trained}, {@link #discarded} and {@link #versionChanged} may be called
 * from any thread.
 */
public final class SchedulerService implements TaskDispatch, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SchedulerService.class);
    private static final Duration DROP_POLL = Duration.ofMillis(100);
    private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration REPLAY_TIMEOUT = Duration.ofSeconds(120);

    private final Properties kafka;
    private final Topic<String, Task> tasks;
    private final Topic<String, DroppedGroup> dropped;
    private final Deserializer<DroppedGroup> dropDecoder;
    private final TaskScheduler scheduler;
    /** The trainer's current policy version, stamped on each task. */
    private final AtomicLong trainerVersion = new AtomicLong();
    private final Clock clock;
    private final SchedulerMetrics metrics;
    private final KafkaProducer<String, Task> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    /** Held for a whole tick and for a checkpoint, so a checkpoint never sees half a tick. */
    private final Object lock = new Object();
    private List<TopicPartition> droppedPartitions;
    private List<TopicPartition> taskPartitions;
    private volatile Thread loop;
    private volatile boolean closed;
    private volatile Throwable failure;
    /**
     * Per partition of rollout.tasks, an offset no task sent before it lies at or after: the end
     * offset at recovery, raised by each acknowledged send. A checkpoint stores it without asking
     * the broker, so it can be taken during an outage.
     */
    private final Map<Integer, Long> taskEnds = new HashMap<>();

    /**
     * @param kafka          client settings (bootstrap, security), passed through to the producer and the consumer
     * @param clock          time of dispatches and of the task timeout
     */
    public SchedulerService(Properties kafka, TopicCatalog topics, TaskScheduler scheduler,
            Clock clock, MeterRegistry registry) {
        this.kafka = kafka;
        this.tasks = topics.tasks();
        this.dropped = topics.dropped();
        this.dropDecoder = dropped.valueSerde().deserializer();
        this.scheduler = scheduler;
        this.clock = clock;
        this.metrics = new SchedulerMetrics(registry, scheduler);

        Properties p = KafkaSettings.producer(kafka, null);
        this.producer = new KafkaProducer<>(p, tasks.keySerde().serializer(), tasks.valueSerde().serializer());
        this.consumer = new KafkaConsumer<>(consumerProperties(kafka), new ByteArrayDeserializer(),
                new ByteArrayDeserializer());
    }

    /** No consumer group (positions live in the checkpoint), committed records only. */
    private static Properties consumerProperties(Properties kafka) {
        Properties p = KafkaSettings.assignedConsumer(kafka, null);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return p;
    }

    /** {@link #recover} and then run {@link #tick()} on a daemon thread until {@link #close()}. */
    public void start(SchedulerCheckpoint restoreFrom) {
        recover(restoreFrom);
        synchronized (lock) {
            if (loop != null) {
                throw new IllegalStateException("scheduler service already started");
            }
            loop = new Thread(this::run, "task-scheduler");
            loop.setDaemon(true);
            loop.start();
        }
    }

    /**
     * Prepares the service to tick. Without a checkpoint the drops are read from the
     * beginning (drops of groups the scheduler does not know are ignored). With one, the
     * scheduler takes its state, the drops are read from its positions, and the tasks
     * produced after it are recorded as dispatched.
     *
     * @param restoreFrom the last checkpoint, or null for a new run
     */
    public void recover(SchedulerCheckpoint restoreFrom) {
        synchronized (lock) {
            if (droppedPartitions != null) {
                throw new IllegalStateException("scheduler service already recovered");
            }
            List<TopicPartition> droppedTps = partitions(dropped.name());
            List<TopicPartition> taskTps = partitions(tasks.name());
            consumer.assign(droppedTps);
            if (restoreFrom == null) {
                consumer.seekToBeginning(droppedTps);
            } else {
                scheduler.load(restoreFrom.state());
                seek(consumer, droppedTps, restoreFrom.droppedOffsets());
                int replayed = replayTasks(taskTps, restoreFrom.taskEndOffsets());
                LOG.info("restored scheduler at group index {} with {} groups in flight; {} tasks produced after the"
                        + " checkpoint recorded", scheduler.nextIndex(), scheduler.inFlight(), replayed);
            }
            consumer.endOffsets(taskTps, METADATA_TIMEOUT).forEach((tp, end) -> taskEnds.put(tp.partition(), end));
            droppedPartitions = droppedTps;
            taskPartitions = taskTps;
        }
    }

    private List<TopicPartition> partitions(String topic) {
        return Partitions.of(consumer, topic, METADATA_TIMEOUT);
    }

    private static void seek(KafkaConsumer<?, ?> c, List<TopicPartition> tps, Map<Integer, Long> offsets) {
        for (TopicPartition tp : tps) {
            Long offset = offsets.get(tp.partition());
            if (offset == null) {
                c.seekToBeginning(List.of(tp));
            } else {
                c.seek(tp, offset);
            }
        }
    }

    /** Records every task between the checkpoint's end offsets and the current end. */
    private int replayTasks(List<TopicPartition> tps, Map<Integer, Long> from) {
        Deserializer<Task> decoder = tasks.valueSerde().deserializer();
        int recorded = 0;
        try (KafkaConsumer<byte[], byte[]> reader = new KafkaConsumer<>(consumerProperties(kafka),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            reader.assign(tps);
            seek(reader, tps, from);
            Map<TopicPartition, Long> end = reader.endOffsets(tps, METADATA_TIMEOUT);
            long deadline = System.nanoTime() + REPLAY_TIMEOUT.toNanos();
            while (tps.stream().anyMatch(tp -> reader.position(tp, METADATA_TIMEOUT) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("could not read " + tasks.name() + " up to " + end + " within "
                            + REPLAY_TIMEOUT);
                }
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(DROP_POLL)) {
                    if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) {
                        continue;
                    }
                    Task task = decode(decoder, r);
                    if (task != null && scheduler.recordDispatched(task)) {
                        recorded++;
                    }
                }
            }
        }
        return recorded;
    }

    private <T> T decode(Deserializer<T> decoder, ConsumerRecord<byte[], byte[]> r) {
        try {
            return decoder.deserialize(r.topic(), r.value());
        } catch (SerializationException e) {
            LOG.warn("skipping undecodable record at {}-{} offset {}: {}", r.topic(), r.partition(), r.offset(),
                    e.getMessage());
            metrics.undecodable(r.topic());
            return null;
        }
    }

    /**
     * One iteration: reads the drops that arrived (waiting up to 100 ms), applies them,
     * polls the scheduler and sends its tasks, and waits until every send is acknowledged.
     *
     * @throws KafkaException if a task could not be sent; the scheduler keeps it in flight,
     *     so it is re-queued after the task timeout
     */
    public void tick() {
        synchronized (lock) {
            if (droppedPartitions == null) {
                throw new IllegalStateException("call recover() or start() first");
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(DROP_POLL)) {
                DroppedGroup drop = decode(dropDecoder, r);
                if (drop != null) {
                    boolean applied = scheduler.onDropped(drop.getGroupId(), Attempts.taskAttempt(drop.getAttempt()));
                    LOG.debug("drop of {} attempt {} ({}): {}", drop.getGroupId(), drop.getAttempt(), drop.getReason(),
                            applied ? "applied" : "ignored");
                }
            }
            List<Task> batch = scheduler.poll(trainerVersion.get(), clock.millis());
            List<Future<RecordMetadata>> sends = new ArrayList<>(batch.size());
            for (Task task : batch) {
                sends.add(producer.send(new ProducerRecord<>(tasks.name(), task.getGroupId(), task)));
            }
            producer.flush();
            for (int i = 0; i < sends.size(); i++) {
                try {
                    RecordMetadata acked = sends.get(i).get();
                    taskEnds.merge(acked.partition(), acked.offset() + 1, Math::max);
                } catch (ExecutionException e) {
                    throw new KafkaException("could not send task " + batch.get(i).getGroupId() + " attempt "
                            + batch.get(i).getAttempt(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new KafkaException("interrupted while sending tasks", e);
                }
            }
        }
    }

    /**
     * A consistent checkpoint: the scheduler's state, the drop positions, and the end offsets
     * of rollout.tasks, taken between two ticks (so every task sent is acknowledged and
     * every drop read is applied).
     */
    @Override
    public SchedulerCheckpoint checkpoint() {
        synchronized (lock) {
            if (droppedPartitions == null) {
                throw new IllegalStateException("call recover() or start() first");
            }
            SchedulerState state = scheduler.snapshot();
            Map<Integer, Long> droppedOffsets = new HashMap<>();
            for (TopicPartition tp : droppedPartitions) {
                droppedOffsets.put(tp.partition(), consumer.position(tp, METADATA_TIMEOUT));
            }
            return new SchedulerCheckpoint(state, droppedOffsets, new HashMap<>(taskEnds));
        }
    }

    /** Sets the abandon listener, then {@link #start(SchedulerCheckpoint)}. */
    @Override
    public void start(SchedulerCheckpoint restored, TaskScheduler.AbandonListener abandoned) {
        scheduler.onAbandon(abandoned);
        start(restored);
    }

    @Override
    public void versionChanged(long version) {
        trainerVersion.set(version);
    }

    /** The trainer trained on a group; see {@link TaskScheduler#onTrained}. */
    @Override
    public void trained(String groupId, int attempt) {
        scheduler.onTrained(groupId, attempt);
    }

    /** The trainer discarded a group; see {@link TaskScheduler#onDiscarded}. */
    @Override
    public void discarded(String groupId, int attempt) {
        scheduler.onDiscarded(groupId, attempt);
    }

    public TaskScheduler scheduler() {
        return scheduler;
    }

    private void run() {
        try {
            while (!closed) {
                try {
                    tick();
                } catch (RuntimeException e) {
                    if (closed) {
                        break;
                    }
                    LOG.error("scheduler tick failed; retrying in 1 s", e);
                    Thread.sleep(1000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable t) {
            // Not a Kafka or input problem: the scheduler cannot go on, and its owner must know.
            failure = t;
            LOG.error("the task scheduler stopped: {}", t.toString(), t);
        }
    }

    /** What stopped the scheduler's thread (an Error), or null while it runs or after a clean close. */
    @Override
    public Throwable failure() {
        return failure;
    }

    /** Stops the loop after its current tick and closes the clients. Takes no checkpoint. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Thread t = loop;
        if (t != null) {
            consumer.wakeup();
            try {
                t.join(Duration.ofSeconds(30).toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (lock) {
            producer.close(Duration.ofSeconds(10));
            consumer.close();
        }
    }
}
