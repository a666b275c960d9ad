package io.rollout.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.rollout.actor.cli.ActorCommand;
import io.rollout.schemas.topics.Topic;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The Kubernetes manifests of deploy/k8s agree with the code: each kustomization (the base and
 * every overlay) is rendered with {@code kubectl kustomize}, and every container's command line
 * (its args and the options its environment variables set) must parse with {@code rollout}'s own
 * options; probes, ports, image, topics, autoscaling, PodMonitors and alert rules must match what
 * the commands serve, the build makes, the topic catalog holds and deploy/monitoring says.
 */
class KubernetesManifestsTest {

    private static final Path K8S = Path.of("k8s");
    private static final Path TOPICS_YAML = K8S.resolve("base/topics.yaml");
    private static final Path RULES = Path.of("monitoring/rules.yml");
    private static final String REGENERATE = "regenerate it with deploy/k8s/generate.sh (after mvn -pl deploy -am package)";

    /** The components of the pipeline, as app.kubernetes.io/component of their pods. */
    private static final Set<String> COMPONENTS = Set.of("env-service", "actor", "advantage", "trainer");
    /** Variables a container may set that are no command's option: the JVM's and DJL's. */
    private static final Set<String> NON_OPTION_VARIABLES = Set.of("JAVA_TOOL_OPTIONS", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR");
    /** ModelOptions' --device: cpu, gpu or gpu:N. */
    private static final Pattern DEVICE = Pattern.compile("cpu|gpu(:\\d+)?");
    private static final Pattern ENV_DEFAULT = Pattern.compile("\\$\\{env:([A-Za-z0-9_]+)");
    private static final Set<String> LOOPBACK = Set.of("127.0.0.1", "localhost", "::1");

    private static final YAMLMapper YAML = new YAMLMapper();

    /** Rendered resources by kustomization directory (relative to deploy/k8s). */
    private static final Map<String, List<JsonNode>> RENDERED = new TreeMap<>();

    @BeforeAll
    static void render() throws Exception {
        List<Path> kustomizations = new ArrayList<>();
        kustomizations.add(K8S.resolve("base"));
        try (Stream<Path> overlays = Files.list(K8S.resolve("overlays"))) {
            overlays.filter(Files::isDirectory).sorted().forEach(kustomizations::add);
        }
        for (Path dir : kustomizations) {
            RENDERED.put(K8S.relativize(dir).toString(), parse(kustomize(dir)));
        }
        assertThat(RENDERED).containsKeys("base", "overlays/gpu");
    }

    private static String kustomize(Path dir) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder("kubectl", "kustomize", dir.toString())
                    .redirectError(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException e) {
            throw new AssertionError("kubectl is needed to render deploy/k8s and is not on the PATH: install it "
                    + "(Debian: apt-get install -y kubernetes-client; .ci/run does)", e);
        }
        process.getOutputStream().close();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("kubectl kustomize %s finished", dir).isTrue();
        assertThat(process.exitValue()).as("kubectl kustomize %s failed:%n%s", dir, err).isZero();
        return out;
    }

    private static List<JsonNode> parse(String yaml) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (var it = YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml)) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode() && doc.size() > 0) {
                    docs.add(doc);
                }
            }
        }
        return docs;
    }

    private static List<JsonNode> ofKind(List<JsonNode> resources, String kind) {
        return resources.stream().filter(r -> r.path("kind").asText().equals(kind)).toList();
    }

    private static String name(JsonNode resource) {
        return resource.path("kind").asText() + "/" + resource.path("metadata").path("name").asText();
    }

    /** A container of a workload, with the command line it runs. */
    private record Container(String rendering, JsonNode workload, JsonNode pod, JsonNode spec, Parsed parsed) {
        String where() {
            return rendering + ": " + name(workload) + " container " + spec.path("name").asText();
        }

        JsonNode podLabels() {
            return workload.path("spec").path("template").path("metadata").path("labels");
        }
    }

    /** A container's command line, parsed: the leaf command with every option's value set. */
    private record Parsed(String command, CommandSpec leaf, List<String> effectiveArgs) {
        Object value(String option) {
            OptionSpec spec = leaf.findOption(option);
            return spec == null ? null : spec.getValue();
        }
    }

    private static List<Container> containers() {
        List<Container> containers = new ArrayList<>();
        RENDERED.forEach((rendering, resources) -> {
            for (JsonNode workload : resources) {
                String kind = workload.path("kind").asText();
                if (!Set.of("Deployment", "StatefulSet", "DaemonSet", "Job").contains(kind)) {
                    continue;
                }
                JsonNode pod = workload.path("spec").path("template").path("spec");
                for (String list : List.of("initContainers", "containers")) {
                    for (JsonNode c : pod.path(list)) {
                        String where = rendering + ": " + name(workload) + " container " + c.path("name").asText();
                        containers.add(new Container(rendering, workload, pod, c, parseCommandLine(where, c)));
                    }
                }
            }
        });
        assertThat(containers).as("containers of deploy/k8s").isNotEmpty();
        return containers;
    }

    /**
     * Parses a container's args, and then its args with the options its environment sets, with
     * rollout's own command line: a misspelt option, a bad value or a variable no option reads fails.
     */
    private static Parsed parseCommandLine(String where, JsonNode container) {
        assertThat(container.has("command")).as("%s: runs the image's entrypoint (rollout), no command of its own", where)
                .isFalse();
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        CommandSpec leaf = parse(where, args).commandSpec();

        Map<String, OptionSpec> byVariable = new LinkedHashMap<>();
        for (OptionSpec option : leaf.options()) {
            String raw = option.toBuilder().defaultValue(); // as declared, before ${env:...} is resolved
            if (raw != null) {
                Matcher m = ENV_DEFAULT.matcher(raw);
                while (m.find()) {
                    byVariable.put(m.group(1), option);
                }
            }
        }
        List<String> effective = new ArrayList<>(args);
        for (JsonNode env : container.path("env")) {
            String variable = env.path("name").asText();
            if (NON_OPTION_VARIABLES.contains(variable)) {
                continue;
            }
            OptionSpec option = byVariable.get(variable);
            assertThat(option).as("%s: env %s is read by no option of '%s' (known: %s); a misspelt variable is "
                    + "silently ignored", where, variable, leaf.qualifiedName(), byVariable.keySet()).isNotNull();
            assertThat(args).as("%s: %s is given both as an argument and as env %s", where, option.longestName(), variable)
                    .noneMatch(a -> option.names().length > 0 && List.of(option.names()).contains(a.split("=", 2)[0]));
            if (!env.has("value")) {
                continue; // valueFrom: known only in the cluster
            }
            String value = env.path("value").asText();
            if (option.type() == boolean.class || option.type() == Boolean.class) {
                if (Boolean.parseBoolean(value)) {
                    effective.add(option.longestName());
                }
            } else {
                effective.add(option.longestName() + "=" + value);
            }
        }
        ParseResult parsed = parse(where + " (with its env)", effective);
        return new Parsed(parsed.commandSpec().qualifiedName(), parsed.commandSpec(), effective);
    }

    private static ParseResult parse(String where, List<String> args) {
        CommandLine cli = RolloutCommand.commandLine();
        ParseResult result;
        try {
            result = cli.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new AssertionError(where + ": rollout " + String.join(" ", args) + ": " + e.getMessage(), e);
        }
        while (result.hasSubcommand()) {
            result = result.subcommand();
        }
        assertThat(result.commandSpec().userObject()).as("%s: '%s' is a command that runs, not a group of commands",
                where, result.commandSpec().qualifiedName()).isNotInstanceOf(io.rollout.runtime.cli.RootCommand.class);
        return result;
    }

    /** The port the container's command serves /health, /ready and /metrics on, from its options. */
    private static int servedPort(Container c) {
        Object port = c.parsed().value("--metrics-port");
        if (port == null) {
            port = c.parsed().value("--port"); // env-service serve: the API port serves all of them
        }
        assertThat(port).as("%s: '%s' serves no /health (neither --metrics-port nor --port)", c.where(), c.parsed().command())
                .isNotNull();
        return (Integer) port;
    }

    private static String servedHost(Container c) {
        Object host = c.parsed().value("--metrics-host");
        return String.valueOf(host != null ? host : c.parsed().value("--host"));
    }

    private static int containerPort(Container c, JsonNode port) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode p : c.spec().path("ports")) {
            if (p.path("name").asText().equals(port.asText())) {
                return p.path("containerPort").asInt();
            }
        }
        throw new AssertionError(c.where() + ": probe port '" + port.asText() + "' names no container port");
    }

    @Test
    void everyContainerCommandLineParsesWithRolloutsOptions() {
        // containers() parses each one and fails on the first that does not.
        assertThat(containers()).allSatisfy(c -> assertThat(c.parsed().command()).startsWith("rollout "));
    }

    @Test
    void everyContainerRunsTheImageTheBuildMakes() {
        String image = System.getProperty("rollout.image");
        assertThat(image).as("system property rollout.image (image.name:project.version, set by deploy/pom.xml's "
                + "surefire configuration); run this test through Maven").isNotBlank();
        for (Container c : containers()) {
            assertThat(c.spec().path("image").asText()).as("%s: image (deploy/k8s/base/kustomization.yaml images: "
                    + "must name image.name of deploy/pom.xml and the project version)", c.where()).isEqualTo(image);
        }
    }

    /**
     * Every service serves /health (liveness) and /ready (readiness, docs/deploy.md "Health and
     * readiness"): the readiness probe asks /ready, the liveness and startup probes /health, so a
     * slow start (state restore, checkpoint) takes the pod out of the Service without killing it.
     */
    @Test
    void probesAskHealthAndReadyOnThePortTheCommandServes() {
        for (Container c : containers()) {
            int served = servedPort(c);
            assertThat(servedHost(c)).as("%s: serves /health on a loopback address, which the kubelet's probes "
                    + "and Prometheus cannot reach", c.where()).isNotIn(LOOPBACK);
            List<Integer> metricsPorts = new ArrayList<>();
            for (JsonNode p : c.spec().path("ports")) {
                if (p.path("name").asText().equals("metrics")) {
                    metricsPorts.add(p.path("containerPort").asInt());
                }
            }
            assertThat(metricsPorts).as("%s: container port named metrics = the port '%s' serves", c.where(),
                    c.parsed().command()).containsExactly(served);
            for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                JsonNode http = c.spec().path(probe).path("httpGet");
                if (probe.equals("startupProbe") && !c.spec().has(probe)) {
                    continue;
                }
                assertThat(http.isMissingNode()).as("%s: %s is an HTTP GET", c.where(), probe).isFalse();
                String path = probe.equals("readinessProbe") ? "/ready" : "/health";
                assertThat(http.path("path").asText()).as("%s: %s path", c.where(), probe).isEqualTo(path);
                assertThat(containerPort(c, http.path("port"))).as("%s: %s port = the port '%s' serves (%s)",
                        c.where(), probe, c.parsed().command(), String.join(" ", c.parsed().effectiveArgs()))
                        .isEqualTo(served);
            }
        }
    }

    /**
     * Kubernetes gives every pod NAME_PORT=tcp://... for each Service in its namespace, and the
     * services read options from variables of that shape: a Service named env-service would set
     * ENV_SERVICE_PORT, which env-service reads as its --port and cannot parse.
     */
    @Test
    void noPodGetsServiceLinkVariables() {
        for (Container c : containers()) {
            assertThat(c.pod().path("enableServiceLinks").isBoolean() && !c.pod().path("enableServiceLinks").asBoolean())
                    .as("%s: enableServiceLinks false", c.where()).isTrue();
        }
    }

    /**
     * libtorch sizes its thread pool from the cores it sees (every core of the node under a CPU
     * quota or with no limit), so a pod running the model states its share.
     */
    @Test
    void everyContainerWithTheModelSizesPyTorchsThreadsToItsCpuRequest() {
        int checked = 0;
        for (Container c : containers()) {
            if (c.parsed().leaf().findOption("--model") == null) {
                continue;
            }
            checked++;
            String jvm = "";
            for (JsonNode e : c.spec().path("env")) {
                if (e.path("name").asText().equals("JAVA_TOOL_OPTIONS")) {
                    jvm = e.path("value").asText();
                }
            }
            Matcher threads = Pattern.compile("-Dai\\.djl\\.pytorch\\.num_threads=(\\d+)").matcher(jvm);
            assertThat(threads.find()).as("%s: -Dai.djl.pytorch.num_threads in JAVA_TOOL_OPTIONS", c.where()).isTrue();
            String cpu = c.spec().path("resources").path("requests").path("cpu").asText();
            assertThat(threads.group(1)).as("%s: PyTorch's threads equal the cpu request", c.where()).isEqualTo(cpu);
            assertThat(jvm).as("%s: one inter-op thread", c.where()).contains("-Dai.djl.pytorch.num_interop_threads=1");
        }
        assertThat(checked).as("containers running the model (actors and the trainer, in every rendering)")
                .isGreaterThanOrEqualTo(4);
    }

    @Test
    void everyContainerIsLockedDownSizedAndLabelled() {
        for (Container c : containers()) {
            JsonNode sc = c.spec().path("securityContext");
            JsonNode podSc = c.pod().path("securityContext");
            assertThat(sc.path("runAsNonRoot").asBoolean(podSc.path("runAsNonRoot").asBoolean()))
                    .as("%s: runAsNonRoot", c.where()).isTrue();
            assertThat(sc.path("allowPrivilegeEscalation").isBoolean() && !sc.path("allowPrivilegeEscalation").asBoolean())
                    .as("%s: allowPrivilegeEscalation false", c.where()).isTrue();
            assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).as("%s: readOnlyRootFilesystem", c.where()).isTrue();
            List<String> dropped = new ArrayList<>();
            sc.path("capabilities").path("drop").forEach(d -> dropped.add(d.asText()));
            assertThat(dropped).as("%s: capabilities dropped", c.where()).contains("ALL");

            Map<String, String> env = new LinkedHashMap<>();
            c.spec().path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
            String jvm = env.getOrDefault("JAVA_TOOL_OPTIONS", "");
            assertThat(jvm).as("%s: JAVA_TOOL_OPTIONS sizes the heap for the container's memory", c.where())
                    .containsAnyOf("-XX:MaxRAMPercentage=", "-Xmx");
            Matcher xmx = Pattern.compile("-Xmx(\\d+)([kKmMgG]?)").matcher(jvm);
            if (xmx.find()) {
                long limit = quantity(c.spec().path("resources").path("limits").path("memory").asText("0"));
                assertThat(bytes(xmx.group(1), xmx.group(2))).as("%s: -Xmx below the memory limit, leaving room "
                        + "for native memory", c.where()).isLessThan(limit);
            }
            assertThat(env).as("%s: DJL's cache directories", c.where()).containsKeys("DJL_CACHE_DIR", "ENGINE_CACHE_DIR");
            // The root file system is read-only: what is written goes to a mounted volume.
            for (String dir : List.of("/tmp", env.get("DJL_CACHE_DIR"), env.get("ENGINE_CACHE_DIR"))) {
                JsonNode mount = mountOf(c, dir);
                assertThat(mount).as("%s: %s is on a writable volume", c.where(), dir).isNotNull();
                assertThat(mount.path("readOnly").asBoolean()).as("%s: %s is writable", c.where(), dir).isFalse();
            }

            JsonNode resources = c.spec().path("resources");
            assertThat(resources.path("requests").path("cpu").isMissingNode()).as("%s: cpu request", c.where()).isFalse();
            assertThat(resources.path("requests").path("memory").isMissingNode()).as("%s: memory request", c.where())
                    .isFalse();
            assertThat(resources.path("limits").path("memory").isMissingNode()).as("%s: memory limit", c.where()).isFalse();

            assertThat(c.podLabels().path("app.kubernetes.io/part-of").asText()).as("%s: part-of label", c.where())
                    .isEqualTo("rollout");
            assertThat(c.podLabels().path("app.kubernetes.io/component").asText()).as("%s: component label", c.where())
                    .isIn(COMPONENTS);
        }
    }

    private static long bytes(String number, String unit) {
        return Long.parseLong(number) << switch (unit.toLowerCase()) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 0;
        };
    }

    /** A Kubernetes memory quantity (e.g. 8Gi, 512Mi, 1G) in bytes. */
    private static long quantity(String q) {
        Matcher m = Pattern.compile("(\\d+)([KMGT]i?)?").matcher(q);
        assertThat(m.matches()).as("memory quantity %s", q).isTrue();
        long n = Long.parseLong(m.group(1));
        if (m.group(2) == null) {
            return n;
        }
        long base = m.group(2).endsWith("i") ? 1024 : 1000;
        int power = "KMGT".indexOf(m.group(2).charAt(0)) + 1;
        long result = n;
        for (int i = 0; i < power; i++) {
            result *= base;
        }
        return result;
    }

    /** The volume mount holding {@code path}, or null. */
    private static JsonNode mountOf(Container c, String path) {
        JsonNode best = null;
        for (JsonNode m : c.spec().path("volumeMounts")) {
            String mountPath = m.path("mountPath").asText();
            if (path != null && (path.equals(mountPath) || path.startsWith(mountPath.endsWith("/") ? mountPath : mountPath + "/"))
                    && (best == null || mountPath.length() > best.path("mountPath").asText().length())) {
                best = m;
            }
        }
        return best;
    }

    /** The pod volume or claim template a mount refers to. */
    private static JsonNode volumeOf(Container c, JsonNode mount) {
        String volume = mount.path("name").asText();
        for (JsonNode v : c.pod().path("volumes")) {
            if (v.path("name").asText().equals(volume)) {
                return v;
            }
        }
        for (JsonNode t : c.workload().path("spec").path("volumeClaimTemplates")) {
            if (t.path("metadata").path("name").asText().equals(volume)) {
                return t;
            }
        }
        throw new AssertionError(c.where() + ": mount of volume '" + volume + "' that the pod does not have");
    }

    @Test
    void everyFileACommandReadsOrWritesIsOnAVolumeAndStateOnAClaim() {
        for (Container c : containers()) {
            for (OptionSpec option : c.parsed().leaf().options()) {
                if (option.type() != Path.class || option.getValue() == null) {
                    continue;
                }
                String path = option.getValue().toString();
                JsonNode mount = mountOf(c, path);
                assertThat(mount).as("%s: %s %s is on no mounted volume (the root file system is read-only)",
                        c.where(), option.longestName(), path).isNotNull();
                if (Set.of("--state-dir", "--checkpoint-dir").contains(option.longestName())) {
                    JsonNode volume = volumeOf(c, mount);
                    assertThat(volume.has("persistentVolumeClaim") || volume.has("spec"))
                            .as("%s: %s %s is on a persistent volume claim", c.where(), option.longestName(), path)
                            .isTrue();
                    assertThat(c.workload().path("kind").asText()).as("%s: keeps state, so is a StatefulSet", c.where())
                            .isEqualTo("StatefulSet");
                }
            }
            // Beyond loopback, the commands refuse to serve without a token or the explicit opt-out.
            if (c.parsed().leaf().findOption("--metrics-auth-token-file") != null) {
                assertThat(c.parsed().value("--metrics-auth-token-file") != null
                        || Boolean.TRUE.equals(c.parsed().value("--metrics-insecure")))
                        .as("%s: /metrics beyond loopback needs --metrics-auth-token-file or --metrics-insecure", c.where())
                        .isTrue();
            }
            if (c.parsed().leaf().findOption("--auth-token-file") != null) {
                assertThat(c.parsed().value("--auth-token-file") != null
                        || Boolean.TRUE.equals(c.parsed().value("--insecure-no-auth")))
                        .as("%s: env-service beyond loopback needs --auth-token-file or --insecure-no-auth", c.where())
                        .isTrue();
            }
        }
    }

    @Test
    void devicesAreKnownAndGpuContainersAskForAGpu() {
        for (Container c : containers()) {
            Object device = c.parsed().value("--device");
            if (device == null) {
                continue;
            }
            assertThat(device.toString()).as("%s: --device (ModelOptions: cpu, gpu or gpu:N)", c.where()).matches(DEVICE);
            JsonNode gpus = c.spec().path("resources").path("limits").path("nvidia.com/gpu");
            if (device.toString().startsWith("gpu")) {
                assertThat(gpus.asInt(0)).as("%s: --device %s needs a nvidia.com/gpu limit", c.where(), device)
                        .isPositive();
            } else {
                assertThat(gpus.isMissingNode()).as("%s: a GPU for --device %s", c.where(), device).isTrue();
            }
        }
        assertThat(containers()).as("the gpu overlay puts the actors and the trainer on the GPU")
                .filteredOn(c -> c.rendering().equals("overlays/gpu"))
                .filteredOn(c -> "gpu".equals(String.valueOf(c.parsed().value("--device"))))
                .extracting(c -> c.podLabels().path("app.kubernetes.io/component").asText())
                .containsExactlyInAnyOrder("actor", "trainer");
    }

    @Test
    void committedTopicsAreTheGeneratorsOutput() throws IOException {
        Cli cli = Cli.run("topics", "--strimzi", "--cluster", "rollout", "--replication-factor", "3");
        assertThat(cli.exitCode()).as(cli.err()).isZero();
        assertThat(Files.readString(TOPICS_YAML)).as("deploy/k8s/base/topics.yaml is the output of 'rollout topics "
                + "--strimzi --cluster rollout --replication-factor 3'; " + REGENERATE).isEqualTo(cli.out());
    }

    @Test
    void strimziTopicsKeepThePrefixedNameAndRefuseABadClusterName() {
        Cli cli = Cli.run("topics", "--strimzi", "--prefix", "Run_7.", "--partitions", "rollout.tasks=12");
        assertThat(cli.exitCode()).as(cli.err()).isZero();
        assertThat(cli.out()).contains("  name: run-7.rollout.tasks\n", "  topicName: \"Run_7.rollout.tasks\"\n",
                "  partitions: 12\n", "  replicas: " + TopicsCommand.STRIMZI_REPLICAS + "\n");
        Cli bad = Cli.run("topics", "--strimzi", "--cluster", "My_Cluster");
        assertThat(bad.exitCode()).isEqualTo(RolloutCommand.EXIT_USAGE);
        assertThat(bad.err()).contains("--cluster 'My_Cluster'");
    }

    @Test
    void kafkaTopicsAreTheCatalogs() {
        TopicCatalog catalog = TopicCatalog.defaults();
        RENDERED.forEach((rendering, resources) -> {
            List<JsonNode> kafkas = ofKind(resources, "Kafka");
            assertThat(kafkas).as("%s: one Kafka cluster", rendering).hasSize(1);
            JsonNode kafka = kafkas.get(0);
            String cluster = kafka.path("metadata").path("name").asText();
            assertThat(kafka.path("metadata").path("annotations").path("strimzi.io/kraft").asText())
                    .as("%s: KRaft", rendering).isEqualTo("enabled");
            assertThat(kafka.path("metadata").path("annotations").path("strimzi.io/node-pools").asText())
                    .as("%s: node pools", rendering).isEqualTo("enabled");
            assertThat(kafka.path("spec").has("kafkaExporter")).as("%s: Kafka Exporter (kafka_consumergroup_lag)", rendering)
                    .isTrue();
            int brokers = 0;
            for (JsonNode pool : ofKind(resources, "KafkaNodePool")) {
                if (pool.path("metadata").path("labels").path("strimzi.io/cluster").asText().equals(cluster)
                        && pool.path("spec").path("roles").toString().contains("broker")) {
                    brokers += pool.path("spec").path("replicas").asInt();
                }
            }
            Map<String, JsonNode> topics = new TreeMap<>();
            for (JsonNode t : ofKind(resources, "KafkaTopic")) {
                String topicName = t.path("spec").path("topicName").asText(t.path("metadata").path("name").asText());
                assertThat(topics.put(topicName, t)).as("%s: KafkaTopic %s declared twice", rendering, topicName).isNull();
                assertThat(t.path("metadata").path("labels").path("strimzi.io/cluster").asText())
                        .as("%s: %s's cluster", rendering, topicName).isEqualTo(cluster);
                assertThat(t.path("spec").path("replicas").asInt()).as("%s: %s's replicas fit the %d brokers",
                        rendering, topicName, brokers).isBetween(1, brokers);
            }
            assertThat(topics.keySet()).as("%s: KafkaTopics = TopicCatalog's topics; " + REGENERATE, rendering)
                    .containsExactlyInAnyOrderElementsOf(catalog.all().stream().map(Topic::name).toList());
            for (Topic<?, ?> topic : catalog.all()) {
                JsonNode spec = topics.get(topic.name()).path("spec");
                assertThat(spec.path("partitions").asInt()).as("%s: partitions of %s; " + REGENERATE, rendering,
                        topic.name()).isEqualTo(topic.partitions());
                Map<String, String> configs = new TreeMap<>();
                spec.path("config").properties().forEach(e -> configs.put(e.getKey(), e.getValue().asText()));
                // The catalog's configs, and min.insync.replicas as rollout topics sets it on the topics it creates.
                Map<String, String> expected = new TreeMap<>(topic.configs());
                expected.putIfAbsent("min.insync.replicas",
                        Integer.toString(TopicProvisioner.minInsyncReplicas(spec.path("replicas").asInt())));
                assertThat(configs).as("%s: configs of %s; " + REGENERATE, rendering, topic.name())
                        .isEqualTo(expected);
            }
        });
    }

    @Test
    void kedaScalesTheActorsOnTheirGroupWithinTheTaskPartitions() {
        List<Container> containers = containers();
        RENDERED.forEach((rendering, resources) -> {
            List<JsonNode> scaledObjects = ofKind(resources, "ScaledObject");
            assertThat(scaledObjects).as("%s: ScaledObjects", rendering).isNotEmpty();
            for (JsonNode so : scaledObjects) {
                String target = so.path("spec").path("scaleTargetRef").path("name").asText();
                List<Container> actors = containers.stream().filter(c -> c.rendering().equals(rendering))
                        .filter(c -> c.workload().path("kind").asText()
                                .equals(so.path("spec").path("scaleTargetRef").path("kind").asText("Deployment")))
                        .filter(c -> c.workload().path("metadata").path("name").asText().equals(target))
                        .toList();
                assertThat(actors).as("%s: %s scales %s, a workload running actor-service run", rendering, name(so),
                        target).singleElement().satisfies(c -> assertThat(c.parsed().command())
                                .isEqualTo("rollout actor-service run"));
                Parsed actor = actors.get(0).parsed();
                Object group = actor.value("--consumer-group");
                String expectedGroup = group != null ? group.toString()
                        : actor.value("--prefix") + ActorCommand.DEFAULT_CONSUMER_GROUP;
                String tasks = actor.value("--prefix") + TopicCatalog.TASKS;
                int partitions = TopicCatalog.defaults().tasks().partitions();

                List<JsonNode> kafkaTriggers = new ArrayList<>();
                so.path("spec").path("triggers").forEach(t -> {
                    if (t.path("type").asText().equals("kafka")) {
                        kafkaTriggers.add(t.path("metadata"));
                    }
                });
                assertThat(kafkaTriggers).as("%s: %s has a kafka trigger", rendering, name(so)).hasSize(1);
                JsonNode trigger = kafkaTriggers.get(0);
                assertThat(trigger.path("topic").asText()).as("%s: %s's topic", rendering, name(so)).isEqualTo(tasks);
                assertThat(trigger.path("consumerGroup").asText()).as("%s: %s's consumerGroup = the actors' group",
                        rendering, name(so)).isEqualTo(expectedGroup);
                assertThat(trigger.path("bootstrapServers").asText()).as("%s: %s's bootstrapServers = the actors' --bootstrap",
                        rendering, name(so)).isEqualTo(String.valueOf(actor.value("--bootstrap")));
                assertThat(Integer.parseInt(trigger.path("lagThreshold").asText("0"))).as("%s: lagThreshold", rendering)
                        .isPositive();
                int max = so.path("spec").path("maxReplicaCount").asInt(100); // KEDA's default
                assertThat(max).as("%s: %s's maxReplicaCount <= partitions of %s (%d): more actors would sit idle",
                        rendering, name(so), tasks, partitions).isBetween(1, partitions);
                assertThat(so.path("spec").path("minReplicaCount").asInt(0)).as("%s: minReplicaCount", rendering)
                        .isLessThanOrEqualTo(max);
            }
        });
    }

    @Test
    void theAdvantageAppKeepsAStandbyOfItsState() {
        List<Container> advantage = containers().stream()
                .filter(c -> c.parsed().command().equals("rollout learner-service advantage-stream")).toList();
        assertThat(advantage).as("advantage-stream containers").isNotEmpty();
        for (Container c : advantage) {
            @SuppressWarnings("unchecked")
            Map<String, String> kafka = (Map<String, String>) c.parsed().value("--kafka");
            int standbys = Integer.parseInt(kafka.getOrDefault("num.standby.replicas", "0"));
            int replicas = c.workload().path("spec").path("replicas").asInt(1);
            assertThat(replicas).as("%s: replicas", c.where()).isGreaterThan(standbys);
            assertThat(standbys).as("%s: num.standby.replicas (--kafka), so a pod's state has a warm copy", c.where())
                    .isPositive();
        }
    }

    @Test
    void everyComponentHasAPodMonitorOnItsMetricsPort() {
        for (Container c : containers()) {
            JsonNode labels = c.podLabels();
            List<JsonNode> monitors = ofKind(RENDERED.get(c.rendering()), "PodMonitor").stream().filter(m -> {
                boolean matches = true;
                for (var e : m.path("spec").path("selector").path("matchLabels").properties()) {
                    matches &= labels.path(e.getKey()).asText().equals(e.getValue().asText());
                }
                return matches && !m.path("spec").path("selector").path("matchLabels").isEmpty();
            }).toList();
            assertThat(monitors).as("%s: one PodMonitor selects its pods", c.where()).hasSize(1);
            JsonNode monitor = monitors.get(0);
            List<String> ports = new ArrayList<>();
            monitor.path("spec").path("podMetricsEndpoints").forEach(e -> ports.add(e.path("port").asText()));
            assertThat(ports).as("%s: %s scrapes the port named metrics", c.where(), name(monitor)).containsExactly("metrics");
            JsonNode endpoint = monitor.path("spec").path("podMetricsEndpoints").get(0);
            // The alert rules read job and service as prometheus-kubernetes.yml sets them: the component label.
            List<String> fromComponent = new ArrayList<>();
            endpoint.path("relabelings").forEach(r -> {
                if (r.path("sourceLabels").toString().equals("[\"__meta_kubernetes_pod_label_app_kubernetes_io_component\"]")) {
                    fromComponent.add(r.path("targetLabel").asText());
                }
            });
            assertThat(fromComponent).as("%s: %s sets job and service from app.kubernetes.io/component", c.where(),
                    name(monitor)).contains("job", "service");
            if (c.parsed().value("--metrics-auth-token-file") != null) {
                assertThat(endpoint.path("authorization").path("type").asText())
                        .as("%s: /metrics needs a bearer token, which %s must send", c.where(), name(monitor))
                        .isEqualTo("Bearer");
            }
        }
    }

    @Test
    void prometheusRuleIsRulesYml() throws IOException {
        JsonNode rules = YAML.readTree(RULES.toFile());
        RENDERED.forEach((rendering, resources) -> {
            List<JsonNode> prometheusRules = ofKind(resources, "PrometheusRule");
            assertThat(prometheusRules).as("%s: PrometheusRules", rendering).hasSize(1);
            assertThat(prometheusRules.get(0).path("spec").path("groups"))
                    .as("%s: the PrometheusRule's groups are deploy/monitoring/rules.yml's; " + REGENERATE, rendering)
                    .isEqualTo(rules.path("groups"));
            assertThat(rules.path("groups")).isNotEqualTo(MissingNode.getInstance());
        });
    }

    @Test
    void ciInstallsKubectl() throws IOException {
        // render() needs kubectl and its failure names the install step that .ci/run takes.
        assertThat(Files.readString(Path.of("..", ".ci", "run"))).as(".ci/run installs kubectl when it is missing")
                .contains("command -v kubectl").contains("kubernetes-client");
    }
}
