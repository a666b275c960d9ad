package io.rollout.deploy;

import io.rollout.runtime.cli.DurationConverter;
import io.rollout.runtime.cli.KafkaOptions;
import io.rollout.runtime.config.CommandLines;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import io.rollout.schemas.topics.TopicProvisioner.Outcome;
import io.rollout.schemas.topics.TopicProvisioner.Status;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Creates the catalog's topics idempotently and verifies existing ones. */
@Command(
        name = "topics",
        mixinStandardHelpOptions = true,
        description = {
            "Creates the pipeline's topics that are missing and verifies the ones that exist",
            "(partitions, cleanup.policy, max.message.bytes of policy.weights). Safe to run again:",
            "a second run changes nothing. Works against any broker; Kafka client settings pass through.",
            "With --strimzi, prints the topics as Strimzi KafkaTopic resources instead and talks to no broker",
            "(deploy/k8s/base/topics.yaml is its output)."
        },
        footer = {"", "Exit codes: 0 all topics as the catalog says, 1 a topic differs (named on stderr),",
            "2 bad usage, 3 Kafka unreachable or an operation failed."})
final class TopicsCommand implements Callable<Integer> {

    /** Replicas of a KafkaTopic printed by --strimzi without --replication-factor: a three-broker cluster. */
    static final short STRIMZI_REPLICAS = 3;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    private KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--partitions", paramLabel = "TOPIC=N",
            description = "Partition count of a topic by its unprefixed name, e.g. --partitions rollout.steps=12.")
    private Map<String, Integer> partitions = new LinkedHashMap<>();

    @Option(names = "--replication-factor", paramLabel = "N",
            description = "Replication factor of created topics (default: the broker's default.replication.factor; "
                    + "with --strimzi " + STRIMZI_REPLICAS + ").")
    private Short replicationFactor;

    @Option(names = "--strimzi",
            description = "Print a Strimzi KafkaTopic (YAML) per catalog topic on standard output instead of creating "
                    + "topics; no broker is contacted.")
    private boolean strimzi;

    @Option(names = "--cluster", paramLabel = "NAME", defaultValue = "rollout",
            description = "With --strimzi: the Kafka cluster's name, set as the strimzi.io/cluster label "
                    + "(default: ${DEFAULT-VALUE}).")
    private String cluster;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "PT30S",
            converter = DurationConverter.class,
            description = "Give up after this long, e.g. 30s, 2m (default: 30s).")
    private Duration timeout;

    @Override
    public Integer call() {
        TopicCatalog catalog;
        Properties props;
        try {
            TopicCatalog.Builder builder = kafka.topicsBuilder();
            partitions.forEach(builder::partitions);
            catalog = builder.build();
            if (strimzi) {
                return printStrimzi(catalog);
            }
            props = kafka.properties();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Long.toString(timeout.toMillis()));
        props.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Long.toString(Math.min(timeout.toMillis(), 30_000)));
        String servers = props.getProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG);

        Admin admin;
        try {
            admin = Admin.create(props);
        } catch (KafkaException e) {
            spec.commandLine().getErr().println("error: cannot create a Kafka client for " + servers + ": "
                    + CommandLines.oneLine(e));
            return RolloutCommand.EXIT_KAFKA;
        }
        try {
            List<Outcome> outcomes = provisioner(admin, Optional.ofNullable(replicationFactor), timeout)
                    .ensure(catalog.all());
            report(outcomes, spec.commandLine().getOut());
            boolean mismatch = false;
            for (Outcome outcome : outcomes) {
                if (outcome.status() == Status.MISMATCH) {
                    mismatch = true;
                    spec.commandLine().getErr().println("error: topic " + outcome.topic() + ": "
                            + String.join("; ", outcome.problems()));
                }
            }
            return mismatch ? RolloutCommand.EXIT_MISMATCH : 0;
        } catch (TimeoutException e) {
            spec.commandLine().getErr().println("error: no answer from Kafka at " + servers + " within " + human(timeout));
            return RolloutCommand.EXIT_KAFKA;
        } catch (ExecutionException e) {
            // The client's own timeout and ours say the same thing, whichever comes first.
            spec.commandLine().getErr().println(e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException
                    ? "error: no answer from Kafka at " + servers + " within " + human(timeout)
                    : "error: Kafka at " + servers + ": " + CommandLines.oneLine(e.getCause()));
            return RolloutCommand.EXIT_KAFKA;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return RolloutCommand.EXIT_KAFKA;
        } finally {
            admin.close(Duration.ZERO);
        }
    }

    private int printStrimzi(TopicCatalog catalog) {
        if (!cluster.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?")) {
            throw new IllegalArgumentException("--cluster '" + cluster + "' is not a Kubernetes resource name "
                    + "(lower-case letters, digits and '-')");
        }
        short replicas = replicationFactor == null ? STRIMZI_REPLICAS : replicationFactor;
        if (replicas < 1) {
            throw new IllegalArgumentException("--replication-factor must be >= 1, got " + replicas);
        }
        StringBuilder command = new StringBuilder("rollout topics --strimzi --cluster ").append(cluster)
                .append(" --replication-factor ").append(replicas);
        if (!kafka.prefix().isEmpty()) {
            command.append(" --prefix ").append(kafka.prefix());
        }
        partitions.forEach((topic, count) -> command.append(" --partitions ").append(topic).append('=').append(count));
        PrintWriter out = spec.commandLine().getOut();
        out.print(StrimziTopics.render(catalog, cluster, replicas, command.toString()));
        out.flush();
        return 0;
    }

    static TopicProvisioner provisioner(Admin admin, Optional<Short> replicationFactor, Duration timeout) {
        return new TopicProvisioner(admin, replicationFactor, timeout);
    }

    /** One line per topic on the command's standard output. */
    static void report(List<Outcome> outcomes, PrintWriter out) {
        for (Outcome outcome : outcomes) {
            String status = switch (outcome.status()) {
                case CREATED -> "created ";
                case VERIFIED -> "ok      ";
                case MISMATCH -> "MISMATCH";
            };
            out.println(status + " " + outcome.topic()
                    + (outcome.problems().isEmpty() ? "" : ": " + String.join("; ", outcome.problems())));
        }
        out.flush();
    }

    private static String human(Duration d) {
        return d.toString().substring(2).toLowerCase();
    }
}
