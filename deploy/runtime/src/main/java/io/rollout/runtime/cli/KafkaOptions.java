package io.rollout.runtime.cli;

import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.TopicCatalog;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.Option;

/**
 * The Kafka flags of every command that talks to a cluster ({@code @Mixin}): the bootstrap
 * servers, any client setting as {@code --kafka KEY=VALUE} or from a properties file, and the run
 * prefix of the topic names. {@code --bootstrap}, {@code --kafka-config} and {@code --prefix} are
 * {@link FromEnv}: a command with an {@link EnvDefaults} also reads them from its environment.
 */
public final class KafkaOptions {

    @FromEnv
    @Option(names = "--bootstrap", paramLabel = "HOST:PORT[,...]",
            description = "Kafka bootstrap servers.")
    private String bootstrap;

    @Option(names = "--kafka", paramLabel = "KEY=VALUE",
            description = "Any Kafka setting, passed to the clients as it is, e.g. --kafka security.protocol=SASL_SSL. "
                    + "Repeatable.")
    private Map<String, String> settings = new LinkedHashMap<>();

    @FromEnv
    @Option(names = "--kafka-config", paramLabel = "FILE",
            description = "A properties file of Kafka settings; --kafka and --bootstrap take precedence.")
    private Path config;

    @FromEnv
    @Option(names = "--prefix", paramLabel = "PREFIX", defaultValue = "",
            description = "Run prefix of the topic names, e.g. run7.")
    private String prefix;

    /**
     * The client properties: the file, then {@code --kafka}, then {@code --bootstrap}
     * ({@link KafkaSettings#merge}).
     *
     * @throws IllegalArgumentException if the file cannot be read or the bootstrap address is missing or bad
     */
    public Properties properties() {
        return KafkaSettings.merge(config, settings, bootstrap);
    }

    /**
     * The client properties as given, with no bootstrap address required ({@link KafkaSettings#read}):
     * for a command that starts an embedded broker when no cluster is named.
     *
     * @throws IllegalArgumentException if the file cannot be read
     */
    public Properties given() {
        return KafkaSettings.read(config, settings, bootstrap);
    }

    /** The run prefix, empty for none. */
    public String prefix() {
        return prefix;
    }

    /** The topic catalog under the run prefix, with the default partition counts. */
    public TopicCatalog topics() {
        return topicsBuilder().build();
    }

    /** A catalog builder with the run prefix set, for a command that sets more. */
    public TopicCatalog.Builder topicsBuilder() {
        return TopicCatalog.builder().prefix(prefix);
    }
}
