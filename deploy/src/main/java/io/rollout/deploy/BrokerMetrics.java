package io.rollout.deploy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListStreamsGroupOffsetsSpec;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The meters of {@code rollout broker}'s {@code /metrics}: local runs and small deployments
 * have no other exporter next to the broker, so it reports on itself.
 *
 * <p>Broker meters ({@code kafka_broker_*}) read the Yammer metrics Kafka keeps in the platform
 * MBean server at each scrape; each object name read here exists on the embedded broker (Kafka
 * 4.x), which {@code BrokerMetricsTest} checks. Only whole-broker values and a per-topic log size
 * are exported, nothing per partition or per client, so the series count stays small.
 *
 * <p>Consumer-group lag is not a broker metric: {@link #refresh()} reads every group's committed
 * offsets and every partition's end offset with the Admin client, on its own thread every few
 * seconds ({@link #start}), so a scrape never waits for Kafka. The series carry the names and
 * labels of Kafka Exporter (danielqsj/kafka_exporter, which Strimzi deploys):
 * {@code kafka_consumergroup_lag}, {@code kafka_consumergroup_current_offset} and
 * {@code kafka_topic_partition_current_offset}, so alert rules and dashboards written for it work
 * against this broker unchanged. A read that fails or times out keeps the previous values and
 * counts in {@code kafka_broker_lag_refresh_failures_total}; groups and partitions that are gone
 * at the next read lose their series.
 */
public final class BrokerMetrics implements MeterBinder, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BrokerMetrics.class);

    /** How often offsets are read unless the command says otherwise. */
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);
    /** The longest one read of all offsets may take before it counts as failed. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    /** {@code kafka.server:type=KafkaServer,name=BrokerState} while the broker serves clients. */
    static final int RUNNING = 3;

    static final String BROKER_STATE = "kafka.server:type=KafkaServer,name=BrokerState";
    private static final String TOPIC_METRICS = "kafka.server:type=BrokerTopicMetrics,name=";
    private static final String REPLICA_MANAGER = "kafka.server:type=ReplicaManager,name=";
    private static final String CONTROLLER = "kafka.controller:type=KafkaController,name=";
    private static final String LOG_SIZE = "kafka.log:type=Log,name=Size,*";

    private final Admin admin;
    private final MBeanServer mbeans;
    private final Duration timeout;
    private ScheduledExecutorService refresher;
    private Counter failures;
    private Series lag;
    private Series groupOffset;
    private Series endOffset;
    private Series logSize;
    private boolean failing;

    /**
     * Meters for the broker in this JVM, reading offsets as a client with {@code clientProperties}
     * (bootstrap and, on a secured broker, its SASL/TLS settings).
     */
    public static BrokerMetrics of(Properties clientProperties) {
        Properties props = new Properties();
        props.putAll(clientProperties);
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "rollout-broker-metrics");
        int timeoutMs = (int) DEFAULT_TIMEOUT.toMillis();
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(timeoutMs));
        return new BrokerMetrics(Admin.create(props), ManagementFactory.getPlatformMBeanServer(), DEFAULT_TIMEOUT);
    }

    /** Reads offsets with {@code admin}, which {@link #close()} closes, and broker meters from {@code mbeans}. */
    BrokerMetrics(Admin admin, MBeanServer mbeans, Duration timeout) {
        this.admin = admin;
        this.mbeans = mbeans;
        this.timeout = timeout;
    }

    /**
     * Whether the broker in this JVM is running, as its own {@code BrokerState} says: false before
     * it has started, while it recovers its logs and once it shuts down. For {@code /health}.
     */
    public static boolean brokerRunning() {
        try {
            return ManagementFactory.getPlatformMBeanServer().getAttribute(name(BROKER_STATE), "Value")
                    instanceof Number n && n.intValue() == RUNNING;
        } catch (JMException e) {
            return false;
        }
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "kafka.broker.messages.in", TOPIC_METRICS + "MessagesInPerSec", null,
                "Records appended to the logs of all topics");
        counter(registry, "kafka.broker.in.bytes", TOPIC_METRICS + "BytesInPerSec", BaseUnits.BYTES,
                "Bytes that clients produced to all topics");
        counter(registry, "kafka.broker.out.bytes", TOPIC_METRICS + "BytesOutPerSec", BaseUnits.BYTES,
                "Bytes that consumers fetched from all topics");
        counter(registry, "kafka.broker.failed.produce.requests", TOPIC_METRICS + "FailedProduceRequestsPerSec", null,
                "Produce requests the broker answered with an error");
        counter(registry, "kafka.broker.failed.fetch.requests", TOPIC_METRICS + "FailedFetchRequestsPerSec", null,
                "Fetch requests the broker answered with an error");
        gauge(registry, "kafka.broker.partitions", REPLICA_MANAGER + "PartitionCount", "Value",
                "Partitions on this broker");
        gauge(registry, "kafka.broker.under.replicated.partitions", REPLICA_MANAGER + "UnderReplicatedPartitions",
                "Value", "Partitions with fewer in-sync replicas than replicas");
        gauge(registry, "kafka.broker.offline.partitions", CONTROLLER + "OfflinePartitionsCount", "Value",
                "Partitions without a leader, which nobody can produce to or fetch from");
        gauge(registry, "kafka.broker.active.controllers", CONTROLLER + "ActiveControllerCount", "Value",
                "1 while this node is the active KRaft controller");
        gauge(registry, "kafka.broker.request.handler.idle.ratio",
                "kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent", "OneMinuteRate",
                "Fraction of time the request handler threads were idle, one-minute average (0 to 1)");
        gauge(registry, "kafka.broker.network.processor.idle.ratio",
                "kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent", "Value",
                "Fraction of time the network threads were idle (0 to 1)");
        gauge(registry, "kafka.broker.state", BROKER_STATE, "Value",
                "Kafka's BrokerState: 3 while running, 1 starting, 2 recovering logs, 6 and 7 shutting down");

        logSize = new Series(MultiGauge.builder("kafka.broker.log.size").baseUnit(BaseUnits.BYTES)
                .description("Bytes on disk of all partitions of a topic").register(registry));
        lag = new Series(MultiGauge.builder("kafka.consumergroup.lag")
                .description("End offset of a partition minus the group's committed offset (Kafka Exporter's name)")
                .register(registry));
        groupOffset = new Series(MultiGauge.builder("kafka.consumergroup.current.offset")
                .description("The group's committed offset of a partition (Kafka Exporter's name)")
                .register(registry));
        endOffset = new Series(MultiGauge.builder("kafka.topic.partition.current.offset")
                .description("End offset (high watermark) of a partition (Kafka Exporter's name)")
                .register(registry));
        failures = Counter.builder("kafka.broker.lag.refresh.failures")
                .description("Reads of group and end offsets that failed or timed out; the lag series keep "
                        + "their previous values")
                .register(registry);
    }

    /**
     * Reads offsets and log sizes now and then every {@code interval} on a daemon thread, after
     * {@link #bindTo}.
     */
    public synchronized void start(Duration interval) {
        if (failures == null) {
            throw new IllegalStateException("bind the meters to a registry first");
        }
        if (refresher != null) {
            throw new IllegalStateException("already started");
        }
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "broker-metrics");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refresh, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * One read: log sizes from JMX, then group and end offsets from the broker within the
     * timeout. Never throws; a failed read of offsets is counted and leaves their series as
     * they were.
     */
    void refresh() {
        // A throw would end the schedule for good: nothing leaves this method.
        try {
            logSize.set(logSizes());
        } catch (RuntimeException e) {
            log.warn("cannot read log sizes for /metrics: {}", e.toString());
        }
        try {
            readOffsets(System.nanoTime() + timeout.toNanos());
            if (failing) {
                log.info("consumer-group offsets readable again");
                failing = false;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            failures.increment();
            if (!failing) {
                Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
                log.warn("cannot read consumer-group offsets for /metrics, keeping the last values: {}",
                        cause.toString());
                failing = true;
            }
        }
    }

    private void readOffsets(long deadline) throws ExecutionException, TimeoutException, InterruptedException {
        Map<TopicPartition, Map<String, Long>> byPartition = new HashMap<>();
        for (Map.Entry<String, Map<TopicPartition, OffsetAndMetadata>> group : committedOffsets(deadline).entrySet()) {
            group.getValue().forEach((tp, offset) -> {
                if (offset != null && offset.offset() >= 0) {
                    byPartition.computeIfAbsent(tp, k -> new HashMap<>()).put(group.getKey(), offset.offset());
                }
            });
        }
        // End offsets after the committed ones, so a commit racing this read cannot pass the end.
        Map<TopicPartition, Long> ends = endOffsets(deadline);

        Map<Tags, Long> lags = new LinkedHashMap<>();
        Map<Tags, Long> offsets = new LinkedHashMap<>();
        Map<Tags, Long> endTags = new LinkedHashMap<>();
        ends.forEach((tp, end) -> {
            String partition = Integer.toString(tp.partition());
            endTags.put(Tags.of("topic", tp.topic(), "partition", partition), end);
            byPartition.getOrDefault(tp, Map.of()).forEach((group, offset) -> {
                Tags tags = Tags.of("consumergroup", group, "topic", tp.topic(), "partition", partition);
                offsets.put(tags, offset);
                lags.put(tags, Math.max(0, end - offset));
            });
        });
        endOffset.set(endTags);
        groupOffset.set(offsets);
        lag.set(lags);
    }

    /**
     * Committed offsets of every group that commits them: consumer groups (classic and KIP-848)
     * and Kafka Streams groups; share groups have none. A group deleted while this reads is left out.
     */
    private Map<String, Map<TopicPartition, OffsetAndMetadata>> committedOffsets(long deadline)
            throws ExecutionException, TimeoutException, InterruptedException {
        Collection<GroupListing> groups = admin.listGroups().all().get(remaining(deadline), TimeUnit.NANOSECONDS);
        Map<String, ListConsumerGroupOffsetsSpec> consumer = new HashMap<>();
        Map<String, ListStreamsGroupOffsetsSpec> streams = new HashMap<>();
        for (GroupListing group : groups) {
            GroupType type = group.type().orElse(GroupType.UNKNOWN);
            if (type == GroupType.STREAMS) {
                streams.put(group.groupId(), new ListStreamsGroupOffsetsSpec());
            } else if (type == GroupType.CONSUMER || group.isSimpleConsumerGroup()
                    || "consumer".equals(group.protocol())) {
                consumer.put(group.groupId(), new ListConsumerGroupOffsetsSpec());
            }
        }
        Map<String, KafkaFuture<Map<TopicPartition, OffsetAndMetadata>>> futures = new HashMap<>();
        if (!consumer.isEmpty()) {
            var result = admin.listConsumerGroupOffsets(consumer);
            consumer.keySet().forEach(g -> futures.put(g, result.partitionsToOffsetAndMetadata(g)));
        }
        if (!streams.isEmpty()) {
            var result = admin.listStreamsGroupOffsets(streams);
            streams.keySet().forEach(g -> futures.put(g, result.partitionsToOffsetAndMetadata(g)));
        }
        Map<String, Map<TopicPartition, OffsetAndMetadata>> offsets = new HashMap<>();
        for (Map.Entry<String, KafkaFuture<Map<TopicPartition, OffsetAndMetadata>>> f : futures.entrySet()) {
            try {
                offsets.put(f.getKey(), f.getValue().get(remaining(deadline), TimeUnit.NANOSECONDS));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof GroupIdNotFoundException)) {
                    throw e;
                }
            }
        }
        return offsets;
    }

    /** The end offset of every partition of every topic, internal ones included as Kafka Exporter does. */
    private Map<TopicPartition, Long> endOffsets(long deadline)
            throws ExecutionException, TimeoutException, InterruptedException {
        var names = admin.listTopics(new ListTopicsOptions().listInternal(true)).names()
                .get(remaining(deadline), TimeUnit.NANOSECONDS);
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        if (!names.isEmpty()) {
            for (Map.Entry<String, KafkaFuture<TopicDescription>> topic
                    : admin.describeTopics(names).topicNameValues().entrySet()) {
                TopicDescription description = gone(topic.getValue(), deadline);
                if (description != null) {
                    description.partitions().forEach(p -> latest.put(
                            new TopicPartition(topic.getKey(), p.partition()), OffsetSpec.latest()));
                }
            }
        }
        Map<TopicPartition, Long> ends = new HashMap<>();
        if (!latest.isEmpty()) {
            ListOffsetsResult result = admin.listOffsets(latest);
            for (TopicPartition tp : latest.keySet()) {
                ListOffsetsResult.ListOffsetsResultInfo info = gone(result.partitionResult(tp), deadline);
                if (info != null) {
                    ends.put(tp, info.offset());
                }
            }
        }
        return ends;
    }

    /** The future's value, or null if its topic or partition was deleted while this read. */
    private static <T> T gone(KafkaFuture<T> future, long deadline)
            throws ExecutionException, TimeoutException, InterruptedException {
        try {
            return future.get(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return null;
            }
            throw e;
        }
    }

    private static long remaining(long deadline) throws TimeoutException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new TimeoutException("reading offsets took longer than the timeout");
        }
        return left;
    }

    /** Bytes on disk per topic: Kafka's per-partition {@code Log Size} summed by topic. */
    private Map<Tags, Long> logSizes() {
        Map<String, Long> bytes = new HashMap<>();
        for (ObjectName partition : mbeans.queryNames(name(LOG_SIZE), null)) {
            String topic = partition.getKeyProperty("topic");
            double size = read(partition, "Value");
            if (topic != null && !Double.isNaN(size)) {
                bytes.merge(topic, (long) size, Long::sum);
            }
        }
        Map<Tags, Long> series = new LinkedHashMap<>();
        bytes.forEach((topic, size) -> series.put(Tags.of("topic", topic), size));
        return series;
    }

    private void counter(MeterRegistry registry, String meter, String objectName, String baseUnit, String description) {
        ObjectName mbean = name(objectName);
        FunctionCounter.builder(meter, mbeans, m -> read(mbean, "Count"))
                .baseUnit(baseUnit).description(description).register(registry);
    }

    private void gauge(MeterRegistry registry, String meter, String objectName, String attribute, String description) {
        ObjectName mbean = name(objectName);
        Gauge.builder(meter, mbeans, m -> read(mbean, attribute)).strongReference(true)
                .description(description).register(registry);
    }

    /** The attribute as a number, NaN while the MBean is not registered (before the broker starts). */
    private double read(ObjectName mbean, String attribute) {
        try {
            return mbeans.getAttribute(mbean, attribute) instanceof Number n ? n.doubleValue() : Double.NaN;
        } catch (JMException e) {
            return Double.NaN;
        }
    }

    static ObjectName name(String objectName) {
        try {
            return new ObjectName(objectName);
        } catch (MalformedObjectNameException e) {
            throw new IllegalArgumentException(objectName, e);
        }
    }

    /** Stops reading offsets and closes the Admin client. */
    @Override
    public synchronized void close() {
        if (refresher != null) {
            refresher.shutdownNow();
            try {
                refresher.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        admin.close(Duration.ofSeconds(1));
    }

    /**
     * The series of one {@link MultiGauge}. Each row reads the latest values, so a refresh adds
     * the new series and removes the gone ones without re-registering those that stay (a scrape
     * in between never misses them).
     */
    private static final class Series {
        private final MultiGauge gauge;
        private volatile Map<Tags, Long> values = Map.of();

        Series(MultiGauge gauge) {
            this.gauge = gauge;
        }

        void set(Map<Tags, Long> next) {
            values = next;
            List<MultiGauge.Row<?>> rows = new ArrayList<>(next.size());
            for (Tags tags : next.keySet()) {
                rows.add(MultiGauge.Row.of(tags, this, s -> s.value(tags)));
            }
            gauge.register(rows, false);
        }

        private double value(Tags tags) {
            Long v = values.get(tags);
            return v == null ? Double.NaN : v;
        }
    }
}
