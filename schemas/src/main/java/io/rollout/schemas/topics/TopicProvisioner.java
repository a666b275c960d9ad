package io.rollout.schemas.topics;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the catalog's topics that are missing and verifies the ones that exist, against
 * any broker. Idempotent: a second run creates nothing. Verified: the partition count,
 * the cleanup policy and, where the catalog raises it, {@code max.message.bytes} (at
 * least the catalog's value). Other configs, such as retention, are only set at creation,
 * so operators may tune them.
 *
 * <p>Created topics get {@code min.insync.replicas} = {@link #minInsyncReplicas} of their
 * replication factor (the given one, or else the brokers' {@code default.replication.factor}),
 * so that with {@code acks=all} a write is on two brokers before it is acknowledged whenever
 * there are three replicas, and a topic stays writable with one replica down.
 */
public final class TopicProvisioner {

    /** What happened to one topic. */
    public enum Status { CREATED, VERIFIED, MISMATCH }

    /** The outcome for one topic; {@code problems} name each setting that differs. */
    public record Outcome(String topic, Status status, List<String> problems) {
        public Outcome {
            problems = List.copyOf(problems);
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(TopicProvisioner.class);
    private static final Duration RETRY_BACKOFF = Duration.ofMillis(200);
    /** The broker setting that gives a topic created without a replication factor its replicas. */
    static final String DEFAULT_REPLICATION_FACTOR = "default.replication.factor";

    private final Admin admin;
    private final Optional<Short> replicationFactor;
    private final Duration timeout;

    /**
     * @param replicationFactor for created topics; empty takes the broker's {@code default.replication.factor}
     * @param timeout           bound on the whole call; an unreachable broker fails within it
     */
    public TopicProvisioner(Admin admin, Optional<Short> replicationFactor, Duration timeout) {
        this.admin = admin;
        this.replicationFactor = replicationFactor;
        this.timeout = timeout;
    }

    public List<Outcome> ensure(Collection<Topic<?, ?>> topics)
            throws InterruptedException, ExecutionException, TimeoutException {
        Instant deadline = Instant.now().plus(timeout);
        Set<String> existing = admin.listTopics(new ListTopicsOptions().timeoutMs(remainingMs(deadline)))
                .names().get(remainingMs(deadline), TimeUnit.MILLISECONDS);

        Map<String, Outcome> outcomes = new LinkedHashMap<>();
        List<Topic<?, ?>> toVerify = new ArrayList<>();
        OptionalInt replicas = null; // looked up once, if a topic is to be created
        for (Topic<?, ?> topic : topics) {
            if (existing.contains(topic.name())) {
                toVerify.add(topic);
                continue;
            }
            if (replicas == null) {
                replicas = replicasOfNewTopics(deadline);
            }
            NewTopic request = request(topic, replicationFactor, replicas);
            try {
                admin.createTopics(List.of(request), new CreateTopicsOptions().timeoutMs(remainingMs(deadline)))
                        .all().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                outcomes.put(topic.name(), new Outcome(topic.name(), Status.CREATED, List.of()));
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
                toVerify.add(topic); // created concurrently by another process: verify it like any other
            }
        }
        for (Outcome outcome : verify(toVerify, deadline)) {
            outcomes.put(outcome.topic(), outcome);
        }
        List<Outcome> ordered = new ArrayList<>();
        for (Topic<?, ?> topic : topics) {
            ordered.add(outcomes.get(topic.name()));
        }
        return ordered;
    }

    /**
     * {@code min.insync.replicas} for a topic of {@code replicationFactor} replicas: one less,
     * at least 1 (1 → 1, 2 → 1, 3 → 2).
     */
    public static int minInsyncReplicas(int replicationFactor) {
        return Math.max(1, replicationFactor - 1);
    }

    /**
     * The request that creates {@code topic}: its configs, plus {@code min.insync.replicas}
     * for {@code replicas} replicas unless the catalog sets it or the count is unknown. Also what
     * a declarative deployment of the topics declares (rollout topics --strimzi).
     */
    public static NewTopic request(Topic<?, ?> topic, Optional<Short> replicationFactor, OptionalInt replicas) {
        NewTopic request = topic.newTopic(replicationFactor);
        if (replicas.isPresent() && !topic.configs().containsKey(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG)) {
            Map<String, String> configs = new HashMap<>(topic.configs());
            configs.put(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG,
                    Integer.toString(minInsyncReplicas(replicas.getAsInt())));
            request.configs(configs);
        }
        return request;
    }

    /** The replicas a created topic gets: the given factor, or else the brokers' default; empty if unreadable. */
    private OptionalInt replicasOfNewTopics(Instant deadline) throws InterruptedException {
        if (replicationFactor.isPresent()) {
            return OptionalInt.of(replicationFactor.get());
        }
        try {
            Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(remainingMs(deadline)))
                    .nodes().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, nodes.iterator().next().idString());
            Config config = admin.describeConfigs(List.of(broker),
                            new DescribeConfigsOptions().timeoutMs(remainingMs(deadline)))
                    .all().get(remainingMs(deadline), TimeUnit.MILLISECONDS).get(broker);
            return OptionalInt.of(Integer.parseInt(value(config, DEFAULT_REPLICATION_FACTOR)));
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("cannot read the brokers' {} ({}); topics are created without {}, so the brokers' default applies",
                    DEFAULT_REPLICATION_FACTOR, e.toString(), TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
            return OptionalInt.empty();
        }
    }

    private List<Outcome> verify(List<Topic<?, ?>> topics, Instant deadline)
            throws InterruptedException, ExecutionException, TimeoutException {
        if (topics.isEmpty()) {
            return List.of();
        }
        List<String> names = topics.stream().map(Topic::name).toList();
        List<ConfigResource> resources = names.stream()
                .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
        while (true) {
            try {
                Map<String, TopicDescription> descriptions = admin
                        .describeTopics(names, new DescribeTopicsOptions().timeoutMs(remainingMs(deadline)))
                        .allTopicNames().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                Map<ConfigResource, Config> configs = admin
                        .describeConfigs(resources, new DescribeConfigsOptions().timeoutMs(remainingMs(deadline)))
                        .all().get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                List<Outcome> outcomes = new ArrayList<>();
                for (Topic<?, ?> topic : topics) {
                    Config actual = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, topic.name()));
                    List<String> problems = problems(topic, descriptions.get(topic.name()).partitions().size(), actual);
                    outcomes.add(new Outcome(topic.name(), problems.isEmpty() ? Status.VERIFIED : Status.MISMATCH,
                            problems));
                }
                return outcomes;
            } catch (ExecutionException e) {
                // A topic created a moment ago may be listed before every broker serves it.
                if (!(e.getCause() instanceof RetriableException) || Instant.now().plus(RETRY_BACKOFF).isAfter(deadline)) {
                    throw e;
                }
                Thread.sleep(RETRY_BACKOFF.toMillis());
            }
        }
    }

    /** Every way the existing topic differs from what the catalog requires. */
    static List<String> problems(Topic<?, ?> expected, int actualPartitions, Config actual) {
        List<String> problems = new ArrayList<>();
        if (actualPartitions != expected.partitions()) {
            problems.add("partitions is " + actualPartitions + ", expected " + expected.partitions());
        }
        String cleanup = value(actual, TopicConfig.CLEANUP_POLICY_CONFIG);
        if (!expected.cleanupPolicy().equals(cleanup)) {
            problems.add(TopicConfig.CLEANUP_POLICY_CONFIG + " is " + cleanup + ", expected " + expected.cleanupPolicy());
        }
        String minMessage = expected.configs().get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
        if (minMessage != null) {
            String have = value(actual, TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            if (have == null || Long.parseLong(have) < Long.parseLong(minMessage)) {
                problems.add(TopicConfig.MAX_MESSAGE_BYTES_CONFIG + " is " + have + ", expected at least " + minMessage);
            }
        }
        return problems;
    }

    private static String value(Config config, String key) {
        ConfigEntry entry = config == null ? null : config.get(key);
        return entry == null ? null : entry.value();
    }

    private static int remainingMs(Instant deadline) {
        long ms = Duration.between(Instant.now(), deadline).toMillis();
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms));
    }
}
