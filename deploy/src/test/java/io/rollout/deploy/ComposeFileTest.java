package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * deploy/compose/compose.yaml (and its secrets overlay) against the code and the monitoring files:
 * what can be checked without a Docker daemon. The image and Kafka version come from the build
 * (surefire's system properties, from deploy/pom.xml).
 */
class ComposeFileTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Path DIR = Path.of("compose").toAbsolutePath();
    private static final Path MONITORING = Path.of("monitoring").toAbsolutePath();

    /** Images of others the compose file may run; every other service runs this build's image. */
    private static final Set<String> OTHER_IMAGES =
            Set.of("apache/kafka", "danielqsj/kafka-exporter", "prom/prometheus", "grafana/grafana");

    /** Variables of the image's services that are not options: the JVM's and DJL's. */
    private static final Set<String> RUNTIME_VARIABLES = Set.of("JAVA_TOOL_OPTIONS", "DJL_CACHE_DIR");

    /** The services that run the image, with what they must run. */
    private static final Map<String, String> SERVICES = Map.of("topics", "topics", "model", "policy init-tiny",
            "env-service", "env-service serve", "advantage", "learner-service advantage-stream",
            "trainer", "learner-service train", "actor", "actor-service run");

    private static final Pattern HEALTH_PORT = Pattern.compile("/dev/tcp/127\\.0\\.0\\.1/(\\d+)");

    private static String image() {
        return property("rollout.image");
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        assertThat(value).as("system property %s (set by deploy/pom.xml's surefire configuration)", name).isNotBlank();
        return value;
    }

    private static JsonNode read(Path file) throws IOException {
        return YAML.readTree(Files.readString(file));
    }

    private static JsonNode compose() throws IOException {
        return read(DIR.resolve("compose.yaml"));
    }

    private static Map<String, JsonNode> services(JsonNode compose) {
        Map<String, JsonNode> services = new LinkedHashMap<>();
        compose.path("services").properties().forEach(e -> services.put(e.getKey(), e.getValue()));
        return services;
    }

    private static Map<String, JsonNode> imageServices(JsonNode compose) {
        Map<String, JsonNode> ours = new LinkedHashMap<>();
        services(compose).forEach((name, service) -> {
            if (!OTHER_IMAGES.contains(repository(service.path("image").asText()))) {
                ours.put(name, service);
            }
        });
        return ours;
    }

    private static String repository(String image) {
        int colon = image.lastIndexOf(':');
        return colon < 0 ? image : image.substring(0, colon);
    }

    private static List<String> command(JsonNode service) {
        JsonNode command = service.path("command");
        assertThat(command.isArray()).as("command as a list: %s", command).isTrue();
        List<String> args = new ArrayList<>();
        command.forEach(a -> args.add(a.asText()));
        return args;
    }

    private static Map<String, String> environment(JsonNode service) {
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode environment = service.path("environment");
        assertThat(environment.isMissingNode() || environment.isObject())
                .as("environment as a map: %s", environment).isTrue();
        environment.properties().forEach(e -> env.put(e.getKey(), e.getValue().asText()));
        return env;
    }

    /** The innermost subcommand that parsed {@code args}. */
    private static ParseResult parse(List<String> args) {
        ParseResult result = RolloutCommand.commandLine().parseArgs(args.toArray(String[]::new));
        while (result.hasSubcommand()) {
            result = result.subcommand();
        }
        return result;
    }

    /** "learner-service train" for rollout's learner-service train. */
    private static String path(CommandSpec spec) {
        return spec.qualifiedName(" ").replaceFirst("^rollout ", "");
    }

    /**
     * The value of an option for a service: given on its command line, else by its variable in the
     * service's environment, else the option's default.
     */
    private static String value(ParseResult parsed, Map<String, String> env, String option) {
        OptionSpec spec = parsed.commandSpec().findOption(option);
        assertThat(spec).as("%s has %s", path(parsed.commandSpec()), option).isNotNull();
        if (parsed.hasMatchedOption(option)) {
            return parsed.matchedOption(option).stringValues().get(0);
        }
        String prefix = EnvironmentOptionsTest.PREFIXES.get(path(parsed.commandSpec()));
        if (prefix != null && env.containsKey(EnvironmentOptionsTest.variable(prefix, option))) {
            return env.get(EnvironmentOptionsTest.variable(prefix, option));
        }
        return spec.defaultValue();
    }

    @Test
    void shouldRunThisBuildsImageAndItsKafkaVersion() throws IOException {
        JsonNode compose = compose();
        assertThat(imageServices(compose).keySet()).containsExactlyInAnyOrderElementsOf(SERVICES.keySet());
        imageServices(compose).forEach((name, service) ->
                assertThat(service.path("image").asText()).as("image of %s", name).isEqualTo(image()));
        assertThat(services(compose).get("kafka").path("image").asText())
                .as("the broker runs the Kafka the clients are built with")
                .isEqualTo("apache/kafka:" + property("rollout.kafka.version"));
    }

    @Test
    void shouldParseTheCommandOfEveryServiceOfTheImage() throws IOException {
        imageServices(compose()).forEach((name, service) -> {
            List<String> args = command(service);
            assertThatCode(() -> parse(args)).as("%s: rollout %s", name, args).doesNotThrowAnyException();
            assertThat(path(parse(args).commandSpec())).as("what %s runs", name).isEqualTo(SERVICES.get(name));
        });
    }

    /**
     * Each variable of a service of the image names an option of its command by the rule, and its
     * value is one the option takes: the command with each variable given as its option parses.
     */
    @Test
    void shouldSetOnlyVariablesThatNameOptionsWithValuesTheyTake() throws IOException {
        JsonNode compose = compose();
        Map<String, JsonNode> ours = imageServices(compose);
        JsonNode overlay = read(DIR.resolve("compose.secrets.yaml"));
        for (JsonNode file : List.of(compose, overlay)) {
            services(file).forEach((name, service) -> {
                if (!ours.containsKey(name)) {
                    assertThat(OTHER_IMAGES).as("%s is a service of compose.yaml", name)
                            .contains(repository(services(compose).get(name).path("image").asText()));
                    return;
                }
                List<String> args = command(ours.get(name));
                CommandSpec spec = parse(args).commandSpec();
                String prefix = EnvironmentOptionsTest.PREFIXES.get(path(spec));
                Map<String, OptionSpec> byVariable = new LinkedHashMap<>();
                if (prefix != null) {
                    EnvironmentOptionsTest.settable(spec)
                            .forEach(o -> byVariable.put(EnvironmentOptionsTest.variable(prefix, o.longestName()), o));
                }
                List<String> withOptions = new ArrayList<>(args);
                environment(service).forEach((variable, value) -> {
                    if (RUNTIME_VARIABLES.contains(variable)) {
                        return;
                    }
                    OptionSpec option = byVariable.get(variable);
                    assertThat(option).as("%s sets %s, which names no option of %s (variables: %s)", name, variable,
                            path(spec), byVariable.keySet()).isNotNull();
                    if (option.typeInfo().isBoolean() && option.arity().max() == 0) {
                        assertThat(value).as("%s of %s", variable, name).isIn("true", "false");
                        if (value.equals("true")) {
                            withOptions.add(option.longestName());
                        }
                    } else {
                        withOptions.add(option.longestName());
                        withOptions.add(value);
                    }
                });
                assertThatCode(() -> parse(withOptions)).as("%s: rollout %s", name, withOptions)
                        .doesNotThrowAnyException();
            });
        }
    }

    /** The port a service of the image serves /metrics on, and the address it listens on. */
    private record Served(int port, String host) {}

    private static Served served(JsonNode service) {
        ParseResult parsed = parse(command(service));
        Map<String, String> env = environment(service);
        boolean envService = path(parsed.commandSpec()).equals("env-service serve");
        String port = value(parsed, env, envService ? "--port" : "--metrics-port");
        String host = value(parsed, env, envService ? "--host" : "--metrics-host");
        return new Served(Integer.parseInt(port), host);
    }

    /** The compose service a host name of the network is: its name or one of its aliases. */
    private static String serviceOf(Map<String, JsonNode> services, String host) {
        for (Map.Entry<String, JsonNode> e : services.entrySet()) {
            if (e.getKey().equals(host)) {
                return e.getKey();
            }
            for (JsonNode alias : e.getValue().path("networks").path("default").path("aliases")) {
                if (alias.asText().equals(host)) {
                    return e.getKey();
                }
            }
        }
        return null;
    }

    @Test
    void shouldScrapeEveryServiceOnThePortItServesMetricsOn() throws IOException {
        JsonNode compose = compose();
        Map<String, JsonNode> services = services(compose);
        Map<String, JsonNode> ours = imageServices(compose);
        JsonNode prometheus = read(MONITORING.resolve("prometheus/prometheus.yml"));

        Map<String, Integer> targets = new LinkedHashMap<>();
        for (JsonNode job : prometheus.path("scrape_configs")) {
            for (JsonNode config : job.path("static_configs")) {
                for (JsonNode target : config.path("targets")) {
                    String[] hostPort = target.asText().split(":");
                    targets.put(hostPort[0], Integer.parseInt(hostPort[1]));
                }
            }
            for (JsonNode config : job.path("dns_sd_configs")) {
                for (JsonNode dnsName : config.path("names")) {
                    targets.put(dnsName.asText(), config.path("port").asInt());
                }
            }
        }
        assertThat(targets).as("scrape targets of prometheus.yml").isNotEmpty();

        Set<String> scraped = new LinkedHashSet<>();
        targets.forEach((host, port) -> {
            String name = serviceOf(services, host);
            assertThat(name).as("prometheus.yml scrapes %s, which is no service (or alias) of compose.yaml", host)
                    .isNotNull();
            scraped.add(name);
            JsonNode service = services.get(name);
            if (ours.containsKey(name)) {
                Served served = served(service);
                assertThat(served.port()).as("%s serves /metrics on", name).isEqualTo(port);
                assertThat(served.host()).as("%s listens beyond loopback so Prometheus reaches it", name)
                        .isEqualTo("0.0.0.0");
            }
            List<String> exposed = new ArrayList<>();
            service.path("expose").forEach(p -> exposed.add(p.asText()));
            assertThat(exposed).as("%s exposes its metrics port", name).contains(Integer.toString(port));
        });
        assertThat(scraped).as("services of the image that serve metrics, all scraped")
                .contains("env-service", "advantage", "trainer", "actor");

        // The healthchecks ask /ready (compose restarts on exit only: "healthy" gates depends_on) on
        // the port the service serves on.
        for (String name : List.of("env-service", "advantage", "trainer", "actor")) {
            String test = services.get(name).path("healthcheck").path("test").toString();
            Matcher health = HEALTH_PORT.matcher(test);
            assertThat(health.find()).as("%s has a healthcheck over /dev/tcp", name).isTrue();
            assertThat(test).as("%s's healthcheck asks /ready", name).contains("GET /ready ");
            assertThat(Integer.parseInt(health.group(1))).as("%s's healthcheck port", name)
                    .isEqualTo(served(services.get(name)).port());
        }
    }

    @Test
    void shouldLetTheActorsScale() throws IOException {
        JsonNode actor = services(compose()).get("actor");
        assertThat(actor).isNotNull();
        assertThat(actor.has("container_name")).as("actor has a container_name: one replica at most").isFalse();
        assertThat(actor.has("ports")).as("actor publishes host ports: a second replica cannot bind them").isFalse();
        assertThat(actor.has("hostname")).as("actor has a fixed hostname").isFalse();
        assertThat(environment(actor)).as("a fixed --actor-id would be shared by every replica")
                .doesNotContainKey("ACTOR_ID");
    }

    @Test
    void shouldConnectEveryServiceToTheKafkaOfTheFile() throws IOException {
        JsonNode compose = compose();
        Map<String, JsonNode> services = services(compose);
        String advertised = environment(services.get("kafka")).get("KAFKA_ADVERTISED_LISTENERS");
        Matcher plaintext = Pattern.compile("PLAINTEXT://([^,]+)").matcher(advertised);
        assertThat(plaintext.find()).as(advertised).isTrue();
        String bootstrap = plaintext.group(1);
        assertThat(serviceOf(services, bootstrap.split(":")[0])).isEqualTo("kafka");

        imageServices(compose).forEach((name, service) -> {
            ParseResult parsed = parse(command(service));
            if (parsed.commandSpec().findOption("--bootstrap") == null) {
                return;
            }
            assertThat(value(parsed, environment(service), "--bootstrap")).as("bootstrap of %s", name)
                    .isEqualTo(bootstrap);
            assertThat(service.path("depends_on").path("kafka").path("condition").asText())
                    .as("%s waits for a healthy kafka", name).isEqualTo("service_healthy");
            if (!name.equals("topics")) {
                assertThat(service.path("depends_on").path("topics").path("condition").asText())
                        .as("%s starts after the topics exist", name).isEqualTo("service_completed_successfully");
            }
        });
    }

    /** Short volume syntax: SOURCE:TARGET[:MODE], the source of a bind mount relative to the compose file. */
    private static Map<String, Path> binds(JsonNode service) {
        Map<String, Path> binds = new LinkedHashMap<>();
        for (JsonNode volume : service.path("volumes")) {
            String[] parts = volume.asText().split(":");
            if (parts[0].startsWith(".") || parts[0].startsWith("/")) {
                binds.put(parts[1], DIR.resolve(parts[0]).normalize());
            }
        }
        return binds;
    }

    @Test
    void shouldMountTheMonitoringFilesWhereTheirConfigurationLooksForThem() throws IOException {
        Map<String, JsonNode> services = services(compose());

        JsonNode prometheus = services.get("prometheus");
        Map<String, Path> binds = binds(prometheus);
        String config = null;
        for (JsonNode arg : prometheus.path("command")) {
            if (arg.asText().startsWith("--config.file=")) {
                config = arg.asText().substring("--config.file=".length());
            }
        }
        assertThat(config).as("prometheus names its --config.file").isNotNull();
        assertThat(binds.get(config)).as("what is mounted at %s", config)
                .isEqualTo(MONITORING.resolve("prometheus/prometheus.yml"));
        JsonNode rules = read(MONITORING.resolve("prometheus/prometheus.yml")).path("rule_files");
        assertThat(rules).isNotEmpty();
        for (JsonNode rule : rules) {
            String inContainer = Path.of(config).resolveSibling(rule.asText()).normalize().toString();
            Path onHost = MONITORING.resolve("prometheus").resolve(rule.asText()).normalize();
            assertThat(binds.get(inContainer)).as("%s, which prometheus.yml loads as %s", inContainer, rule.asText())
                    .isEqualTo(onHost);
            assertThat(onHost).exists();
        }

        Map<String, Path> grafana = binds(services.get("grafana"));
        Path provisioning = MONITORING.resolve("grafana/provisioning");
        assertThat(grafana.get("/etc/grafana/provisioning")).isEqualTo(provisioning);
        String dashboards = read(provisioning.resolve("dashboards/rollout.yml"))
                .path("providers").get(0).path("options").path("path").asText();
        assertThat(grafana.get(dashboards)).as("what is mounted at %s", dashboards).isNotNull();
        assertThat(grafana.get(dashboards).resolve("rollout-dashboard.json")).exists();
        String datasource = read(provisioning.resolve("datasources/prometheus.yml"))
                .path("datasources").get(0).path("url").asText();
        assertThat(datasource).isEqualTo("http://prometheus:9090");
        assertThat(services).containsKey("prometheus");
    }
}
