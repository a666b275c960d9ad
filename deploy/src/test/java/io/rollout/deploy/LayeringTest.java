package io.rollout.deploy;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.rollout.env.client.EnvClient;
import io.rollout.learner.scheduler.SchedulerService;
import io.rollout.learner.trainer.AdamW;
import io.rollout.learner.trainer.GgpoPerturbation;
import io.rollout.learner.trainer.PolicyTrainer;
import io.rollout.learner.trainer.PpoLoss;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.policy.sampling.ContinuousBatcher;
import io.rollout.policy.sampling.Generator;
import io.rollout.policy.text.TextTokenizer;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.serde.UndecodableRecordException;
import io.rollout.schemas.topics.Attempts;
import io.rollout.weights.AdapterVersion;
import io.rollout.weights.ChunkAssembly;
import java.net.URI;
import java.nio.file.Path;

/**
 * The layering that docs/architecture.md describes, checked on the main classes of every module
 * (deploy's test classpath holds them all): modules depend one way, and the pure parts (the
 * decisions, codecs, algorithms and environments that are unit-tested on their own) use neither
 * Kafka, an HTTP server nor DJL; the services' Kafka, Javalin and model code stays at their edges.
 *
 * <p>A rule here states what holds today. To move a class across a line, change the rule in the
 * same commit and say why.
 */
@AnalyzeClasses(
        packages = "io.rollout",
        importOptions = {ImportOption.DoNotIncludeTests.class, LayeringTest.DoNotIncludeTestJars.class})
class LayeringTest {

    /** Test classes packaged as {@code -tests.jar} (schemas' test-jar), which DoNotIncludeTests lets through. */
    static final class DoNotIncludeTestJars implements ImportOption {
        @Override
        public boolean includes(Location location) {
            return !location.contains("-tests.jar");
        }
    }

    private static final DescribedPredicate<JavaClass> KAFKA_HTTP_SERVER_OR_DJL = resideInAnyPackage(
                    "org.apache.kafka..", "io.javalin..", "com.sun.net.httpserver..", "ai.djl..")
            .as("belong to Kafka, an HTTP server (Javalin, com.sun.net.httpserver) or DJL");

    /**
     * The classes of env-client. Its package {@code io.rollout.env} is split with env-service, so
     * what decides is where a class was loaded from: the artifact (jar or classes directory) of
     * {@link EnvClient}.
     */
    private static final DescribedPredicate<JavaClass> ENV_CLIENT =
            resideInAPackage("io.rollout.env..").and(loadedFromArtifactOf(EnvClient.class))
                    .as("io.rollout.env.. loaded from env-client");

    private static final DescribedPredicate<JavaClass> ENV_SERVICE =
            resideInAPackage("io.rollout.env..").and(not(loadedFromArtifactOf(EnvClient.class)))
                    .as("io.rollout.env.. loaded from elsewhere (env-service)");

    // ---- modules -------------------------------------------------------------------------------

    @ArchTest
    static final ArchRule modulesDependOneWay = layeredArchitecture()
            .consideringOnlyDependenciesInLayers()
            .layer("schemas").definedBy("io.rollout.records..", "io.rollout.schemas..")
            .layer("runtime").definedBy("io.rollout.runtime..")
            .layer("weights").definedBy("io.rollout.weights..")
            .layer("policy").definedBy("io.rollout.policy..")
            .layer("env-client").definedBy(ENV_CLIENT)
            .layer("env-service").definedBy(ENV_SERVICE)
            .layer("actor-service").definedBy("io.rollout.actor..")
            .layer("learner-service").definedBy("io.rollout.learner..")
            .layer("broker").definedBy("io.rollout.broker..")
            .layer("deploy").definedBy("io.rollout.deploy..")
            .whereLayer("schemas").mayNotAccessAnyLayer()
            .whereLayer("runtime").mayOnlyAccessLayers("schemas")
            .whereLayer("weights").mayOnlyAccessLayers("schemas", "runtime")
            .whereLayer("policy").mayNotAccessAnyLayer()
            .whereLayer("env-client").mayNotAccessAnyLayer()
            .whereLayer("broker").mayNotAccessAnyLayer()
            .whereLayer("env-service").mayOnlyAccessLayers("runtime", "env-client")
            .whereLayer("actor-service").mayOnlyAccessLayers("schemas", "runtime", "weights", "policy", "env-client")
            .whereLayer("learner-service").mayOnlyAccessLayers("schemas", "runtime", "weights", "policy")
            .whereLayer("deploy").mayNotBeAccessedByAnyLayer()
            .because("dependencies point one way: the services depend on schemas and runtime, the"
                    + " actors and the learner on weights, and the two that run the model on policy; no service depends on another service's main code; deploy"
                    + " depends on everything (the 'may depend on' column of docs/architecture.md, the"
                    + " compile scope of each pom.xml)");

    @ArchTest
    static final ArchRule envServiceKnowsNothingOfTheKafkaPipeline = noClasses()
            .that(resideInAPackage("io.rollout.env.."))
            .should().dependOnClassesThat(resideInAnyPackage(
                            "io.rollout.records..", "io.rollout.schemas..", "io.rollout.runtime.kafka")
                    .as("are the pipeline's records, topics, serdes or Kafka client settings"))
            .because("env-service takes from runtime only the command-line conventions and the metrics"
                    + " server; records and topics are the Kafka pipeline's, and an environment knows"
                    + " nothing of them (docs/architecture.md)");

    // ---- the pure parts --------------------------------------------------------------------------

    @ArchTest
    static final ArchRule schemasPurePartsUseNoKafkaHttpServerOrDjl = noClasses()
            .that(resideInAnyPackage("io.rollout.records..", "io.rollout.schemas", "io.rollout.runtime.config")
                    .or(resideInAPackage("io.rollout.schemas.serde")
                            .and(not(belongToAnyOf(AvroSerde.class, UndecodableRecordException.class))))
                    .or(belongToAnyOf(Attempts.class, ChunkAssembly.class, AdapterVersion.class))
                    .as("are the records, Limits, runtime's config conventions, serde but the Kafka Serde"
                            + " (BodyCheck, Packed, SchemaHistory), Attempts and the weight reader's"
                            + " core (ChunkAssembly, AdapterVersion)"))
            .should().dependOnClassesThat(KAFKA_HTTP_SERVER_OR_DJL)
            .because("the records are Avro, and the body check, the attempt arithmetic and the weight"
                    + " reader's core without Kafka are unit-tested and fuzzed on their own; the Kafka"
                    + " side is AvroSerde and the topic and weight clients");

    @ArchTest
    static final ArchRule schemasHoldsOnlyTheContracts = noClasses()
            .that(resideInAnyPackage("io.rollout.records..", "io.rollout.schemas.."))
            .should().dependOnClassesThat(resideInAnyPackage("picocli..", "io.micrometer..", "com.sun.net.httpserver..")
                    .as("belong to picocli, Micrometer or an HTTP server"))
            .because("schemas holds the records, their serdes and the topic catalog that every process"
                    + " shares; command lines and metrics are runtime's, weight transfer is weights'");

    @ArchTest
    static final ArchRule policyChatTemplatesAndSamplerUseNoDjl = noClasses()
            .that(resideInAnyPackage("io.rollout.policy.text..", "io.rollout.policy.sampling")
                    .and(not(belongToAnyOf(TextTokenizer.class, Generator.class, ContinuousBatcher.class)))
                    .as("are the chat templates (policy.text and its jinja engine but TextTokenizer) or"
                            + " sampling but the Generator and the ContinuousBatcher"))
            .should().dependOnClassesThat(KAFKA_HTTP_SERVER_OR_DJL)
            .because("chat templates are rendered and tokens drawn on the Java side, without the"
                    + " engine; DJL is the model's, the tokenizer's and the two generation loops'");

    @ArchTest
    static final ArchRule environmentsAndTheEnvClientUseNoKafkaHttpServerOrDjl = noClasses()
            .that(resideInAPackage("io.rollout.env..").and(not(resideInAPackage("io.rollout.env.server")))
                    .as("are the environments, the env API or its client (io.rollout.env.. but the server)"))
            .should().dependOnClassesThat(KAFKA_HTTP_SERVER_OR_DJL)
            .because("the environments are plain Java behind EnvServer, the only Javalin edge; the"
                    + " actors reach them over HTTP through the client, and neither side is Kafka or"
                    + " model code");

    @ArchTest
    static final ArchRule actorPlayPromptAndDeliveryUseNoKafkaHttpServerOrDjl = noClasses()
            .that(resideInAnyPackage("io.rollout.actor.play", "io.rollout.actor.prompt", "io.rollout.actor.delivery"))
            .should().dependOnClassesThat(KAFKA_HTTP_SERVER_OR_DJL)
            .because("the group player, the prompt formats and the delivery rules (PartitionProgress,"
                    + " ClaimMetadata, JobState) are pure parts unit-tested without Kafka, the player"
                    + " taken through TaskPlayer; ActorService is the Kafka edge and policy runs the model");

    /** Not GroupState: it carries its own Kafka Serde for the state store. */
    @ArchTest
    static final ArchRule learnerPurePartsUseNoKafkaHttpServerOrDjl = noClasses()
            .that(resideInAnyPackage(
                            "io.rollout.learner.gigpo..",
                            "io.rollout.learner.scheduler",
                            "io.rollout.learner.trainer",
                            "io.rollout.learner.checkpoint")
                    .and(not(belongToAnyOf(SchedulerService.class, TrainerService.class)))
                    .and(not(belongToAnyOf(PolicyTrainer.class, PpoLoss.class, GgpoPerturbation.class, AdamW.class)))
                    .or(belongToAnyOf(
                            load("io.rollout.learner.advantage.Admission"),
                            load("io.rollout.learner.advantage.FinishedMark"),
                            load("io.rollout.learner.advantage.StepKeys")))
                    .as("are GiGPO and its offline command, the scheduler but SchedulerService, the trainer"
                            + " but TrainerService and its DJL math (PolicyTrainer, PpoLoss, GgpoPerturbation, AdamW),"
                            + " the checkpoint store, and the advantage app's Admission, FinishedMark and"
                            + " StepKeys"))
            .should().dependOnClassesThat(KAFKA_HTTP_SERVER_OR_DJL)
            .because("Gigpo.compute is a pure function; TaskScheduler decides which tasks to produce and"
                    + " when, without Kafka; the admission rules are a pure decision, unit-tested without"
                    + " Kafka; FinishedGroups, SampleAssembler and the checkpoint are the trainer's"
                    + " bookkeeping; SchedulerService, TrainerService and the Streams app are the Kafka"
                    + " edges");

    // ---- where the infrastructure may be used at all ----------------------------------------------

    @ArchTest
    static final ArchRule djlOnlyInTheModelCode = noClasses()
            .that(not(resideInAnyPackage(
                            "io.rollout.policy..", "io.rollout.learner.trainer", "io.rollout.learner.warmstart"))
                    .as("reside outside policy and the learner's trainer and warm start"))
            .should().dependOnClassesThat(resideInAPackage("ai.djl..").as("belong to DJL"))
            .because("the model runs in DJL in policy (Policy, DecoderModel, Generator,"
                    + " ResponseScorer) and is trained by the learner's trainer and warm start; everything"
                    + " else, actors included, goes through policy's API");

    @ArchTest
    static final ArchRule javalinOnlyInTheEnvServer = noClasses()
            .that(not(resideInAPackage("io.rollout.env.server")).as("reside outside io.rollout.env.server"))
            .should().dependOnClassesThat(resideInAPackage("io.javalin..").as("belong to Javalin"))
            .because("env-service's HTTP server (EnvServer) is the only Javalin edge; the sessions and"
                    + " environments behind it are plain Java");

    @ArchTest
    static final ArchRule jdkHttpServerOnlyForMetrics = noClasses()
            .that(not(resideInAPackage("io.rollout.runtime.metrics"))
                    .as("reside outside io.rollout.runtime.metrics"))
            .should().dependOnClassesThat(
                    resideInAPackage("com.sun.net.httpserver..").as("belong to com.sun.net.httpserver"))
            .because("/metrics, /health and /ready are served by the shared MetricsHttpServer, not a copy of it");

    // ---- helpers ---------------------------------------------------------------------------------

    /** True for a class loaded from the same jar or classes directory as {@code anchor}. */
    private static DescribedPredicate<JavaClass> loadedFromArtifactOf(Class<?> anchor) {
        Path artifact = artifactOf(anchor.getProtectionDomain().getCodeSource().getLocation().toString());
        return describe("loaded from the artifact of " + anchor.getSimpleName(), javaClass -> javaClass.getSource()
                .map(source -> artifactOf(source.getUri().toString()).startsWith(artifact))
                .orElse(false));
    }

    /** The file or directory of a {@code file:} or {@code jar:file:...!/entry} URI. */
    private static Path artifactOf(String uri) {
        if (uri.startsWith("jar:")) {
            uri = uri.substring("jar:".length(), uri.indexOf("!/"));
        }
        return Path.of(URI.create(uri));
    }

    /** A class that the test cannot name (package-private); fails the test's setup if it is gone. */
    private static Class<?> load(String name) {
        try {
            return Class.forName(name, false, LayeringTest.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(name + " is gone: update LayeringTest's rules", e);
        }
    }
}
