package io.rollout.actor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.actor.ErrorInterceptor;
import io.rollout.actor.TestWorld;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.env.server.EnvServer;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code actor-service run} in this JVM, with the tiny model, the shared broker and a real env-service. */
class RunCommandTest {

    @TempDir
    Path dir;

    @Test
    void shouldExitNonZeroNamingTheCauseWhenTheTaskLoopMeetsAnError() throws Exception {
        Path model = dir.resolve("model");
        TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), 11);
        String prefix = "it-run-" + System.nanoTime() + ".";
        TopicCatalog topics = TopicCatalog.builder().prefix(prefix).partitions(TopicCatalog.TASKS, 1)
                .partitions(TopicCatalog.STEPS, 1).build();
        Properties kafka = new Properties();
        kafka.put("bootstrap.servers", SharedKafkaBroker.bootstrapServers());
        try (Admin admin = Admin.create(kafka)) {
            new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(30)).ensure(topics.all());
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        try (EnvServer env = TestWorld.startServer(16)) {
            CommandLine cli = ActorCommand.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> cli.execute("run",
                    "--bootstrap", SharedKafkaBroker.bootstrapServers(), "--prefix", prefix, "--env-url", env.url(),
                    "--model", model.toString(), "--actor-id", "cli-error", "--seed", "1", "--metrics-port", "0",
                    "--kafka", "interceptor.classes=" + ErrorInterceptor.class.getName()));
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(kafka, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(topics.tasks().name(), "g-cli".getBytes(StandardCharsets.UTF_8),
                        topics.tasks().valueSerde().serializer().serialize(topics.tasks().name(),
                                TestWorld.sokobanTask("g-cli", 3, 2, 3)))).get(30, TimeUnit.SECONDS);
            }

            int code = exit.get(90, TimeUnit.SECONDS);

            assertThat(code).as("exit code; stdout:%n%s%nstderr:%n%s", out, err).isNotZero();
            assertThat(err.toString()).contains(ErrorInterceptor.MESSAGE);
        }
        assertThat(out.toString()).contains("running");
        assertThat(List.of(err.toString().split("\n"))).isNotEmpty();
    }
}
