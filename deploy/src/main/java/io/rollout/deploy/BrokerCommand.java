package io.rollout.deploy;

import io.rollout.broker.EmbeddedKafkaBroker;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Runs the embedded single-node KRaft broker as a process of its own until SIGTERM. */
@Command(
        name = "broker",
        mixinStandardHelpOptions = true,
        description = {
            "Runs a real single-node Apache Kafka broker (KRaft) until stopped with SIGTERM or Ctrl-C.",
            "Prints 'bootstrap=HOST:PORT' on one line of standard output once it accepts clients.",
            "A restart on the same data directory keeps the cluster id, topics and data.",
            "Give it a modest heap, e.g. java -Xmx512m -jar rollout.jar broker."
        })
final class BrokerCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "data/broker",
            description = "Cluster id, metadata and topic data (default: ${DEFAULT-VALUE}).")
    private Path dataDir;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "9092",
            description = "Client port; 0 or a taken port falls back to a free one (default: ${DEFAULT-VALUE}).")
    private int port;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
            description = "Address to listen on and advertise (default: ${DEFAULT-VALUE}).")
    private String host;

    @Option(names = "--create-topics",
            description = "Create the pipeline's topics (the 'topics' command's catalog, default names) once ready.")
    private boolean createTopics;

    @Option(names = "--override", paramLabel = "KEY=VALUE",
            description = "A broker setting over the defaults, e.g. --override log.retention.hours=24. Repeatable.")
    private Map<String, String> overrides = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--port must be in 0..65535, got " + port);
        }
        EmbeddedKafkaBroker.Builder builder = EmbeddedKafkaBroker.builder().dataDir(dataDir).host(host).port(port);
        overrides.forEach(builder::override);
        EmbeddedKafkaBroker broker = builder.start();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.close();
            stopped.countDown();
        }, "broker-shutdown"));

        if (createTopics) {
            Properties props = new Properties();
            props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            try (Admin admin = Admin.create(props)) {
                TopicsCommand.report(TopicsCommand.provisioner(admin, Optional.empty(), Duration.ofSeconds(30))
                        .ensure(TopicCatalog.defaults().all()), spec.commandLine().getOut());
            }
        }
        spec.commandLine().getOut().println("bootstrap=" + broker.bootstrapServers());
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
