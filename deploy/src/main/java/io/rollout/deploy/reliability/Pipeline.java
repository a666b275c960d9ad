package io.rollout.deploy.reliability;

import io.rollout.deploy.reliability.Child.Kind;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;

/**
 * The pipeline as separate processes on loopback, the way an operator deploys it: a broker,
 * env-service, two advantage-app instances, the trainer with its scheduler and three actors
 * on the tiny model, each restartable on the same ports and data directories. The fault run
 * and the soak drive it.
 */
final class Pipeline implements AutoCloseable {

    static final String PREFIX = "reliability.";
    static final Duration UP_TIMEOUT = Duration.ofMinutes(4);

    final TopicCatalog topics = TopicCatalog.builder().prefix(PREFIX).build();
    final List<Child> children = new ArrayList<>();
    final List<Child> advantage = new ArrayList<>();
    final List<Child> actors = new ArrayList<>();
    /** Processes that exited without being stopped by the driver: each is a finding. */
    final List<String> unexpectedExits = new ArrayList<>();
    Child broker;
    Child env;
    Child trainer;
    private final Path dir;
    private final PrintStream out;
    private final long startNanos = System.nanoTime();
    private String bootstrap;

    Pipeline(Path dir, PrintStream out) {
        this.dir = dir;
        this.out = out;
    }

    /**
     * Starts every process and waits until each is healthy and the trainer published a version.
     *
     * @param taskTimeout the scheduler's task timeout (re-queues groups lost to a fault)
     * @param groupTimeout the advantage app's group timeout
     */
    void start(long seed, Duration taskTimeout, Duration groupTimeout) throws Exception {
        Files.createDirectories(dir);
        Path model = dir.resolve("model");
        if (!Files.exists(model.resolve("config.json"))) {
            TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), seed);
        }
        Path logs = dir.resolve("logs");
        Files.createDirectories(logs);
        int brokerPort = freePort();
        bootstrap = "127.0.0.1:" + brokerPort;
        broker = add(new Child("broker", Kind.BROKER, "512m", brokerPort, logs.resolve("broker.log"), List.of(
                "broker", "--data-dir", dir.resolve("broker").toString(), "--port", Integer.toString(brokerPort),
                "--metrics-port", "0")));
        broker.start();
        awaitHealthy(List.of(broker), UP_TIMEOUT);
        createTopics();

        int envPort = freePort();
        env = add(new Child("env-service", Kind.ENV_SERVICE, "256m", envPort, logs.resolve("env-service.log"),
                List.of("env-service", "serve", "--port", Integer.toString(envPort))));
        for (int i = 0; i < 2; i++) {
            int port = freePort();
            advantage.add(add(new Child("advantage-" + i, Kind.ADVANTAGE, "384m", port,
                    logs.resolve("advantage-" + i + ".log"), List.of("learner-service", "advantage-stream",
                            "--bootstrap", bootstrap, "--prefix", PREFIX, "--application-id",
                            PREFIX + "advantage", "--state-dir", dir.resolve("advantage-" + i).toString(),
                            "--group-timeout", groupTimeout.toSeconds() + "s",
                            "--metrics-port", Integer.toString(port)))));
        }
        int trainerPort = freePort();
        trainer = add(new Child("trainer", Kind.TRAINER, "768m", trainerPort, logs.resolve("trainer.log"), List.of(
                "learner-service", "train", "--bootstrap", bootstrap, "--prefix", PREFIX,
                "--model", model.toString(), "--checkpoint-dir", dir.resolve("checkpoints").toString(),
                "--checkpoint-every", "3", "--trained-log", trainedLog().toString(),
                "--task", "env=sokoban,group-size=4,max-steps=5", "--run-id", "reliability",
                "--max-in-flight", "8", "--batch-groups", "2", "--max-staleness", "1000000",
                "--task-timeout", taskTimeout.toSeconds() + "s", "--max-retries", "5",
                "--lora-rank", "4", "--seed", Long.toString(seed), "--metrics-port", Integer.toString(trainerPort))));
        for (int i = 0; i < 3; i++) {
            int port = freePort();
            actors.add(add(new Child("actor-" + i, Kind.ACTOR, "384m", port, logs.resolve("actor-" + i + ".log"),
                    List.of("actor-service", "run", "--bootstrap", bootstrap, "--prefix", PREFIX,
                            "--env-url", "http://127.0.0.1:" + envPort, "--model", model.toString(),
                            "--actor-id", "actor-" + i, "--groups-in-flight", "2", "--seed", Long.toString(i),
                            "--max-new-tokens", "8", "--drain-timeout", "10s",
                            "--kafka", "session.timeout.ms=6000", "--metrics-port", Integer.toString(port)))));
        }
        for (Child c : children) {
            if (!c.alive()) {
                c.start();
            }
        }
        awaitHealthy(children, UP_TIMEOUT);
        if (!awaitVersionAbove(0, UP_TIMEOUT)) {
            throw new IllegalStateException("the trainer published no version within " + UP_TIMEOUT + " (logs in "
                    + logs + ")");
        }
    }

    Path trainedLog() {
        return dir.resolve("trained.jsonl");
    }

    Path checkpoints() {
        return dir.resolve("checkpoints");
    }

    private Child add(Child c) {
        children.add(c);
        return c;
    }

    Properties kafka() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        return p;
    }

    private void createTopics() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (true) {
            try (Admin admin = Admin.create(kafka())) {
                new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(30)).ensure(topics.all());
                return;
            } catch (RuntimeException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(1000);
            }
        }
    }

    long trainerVersion() {
        double v = Child.gauge(trainer.metrics(), "rollout_trainer_version");
        return Double.isNaN(v) ? -1 : (long) v;
    }

    boolean awaitVersionAbove(long version, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (trainerVersion() > version) {
                return true;
            }
            Thread.sleep(500);
        }
        return false;
    }

    /** Waits until every actor reports {@code version}; how long that took, or null on timeout. */
    Duration awaitActorsOn(long version, Duration timeout) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (actors.stream().allMatch(a -> Child.gauge(a.metrics(), "rollout_actor_policy_version") == version)) {
                return Duration.ofNanos(System.nanoTime() - t0);
            }
            Thread.sleep(500);
        }
        return null;
    }

    /** Waits until the processes are healthy; one that exited by itself is started again and noted. */
    void awaitHealthy(List<Child> which, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Child> down = which.stream().filter(c -> !c.healthy()).toList();
            if (down.isEmpty()) {
                return;
            }
            for (Child c : down) {
                if (!c.alive()) {
                    say(c + " exited by itself; starting it again. The end of its log:\n" + c.logTail(40));
                    unexpectedExits.add(c.name + " at " + elapsedMs() / 1000 + " s");
                    c.start();
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not healthy within " + timeout + ": " + down + " (logs in "
                        + dir.resolve("logs") + ")");
            }
            Thread.sleep(500);
        }
    }

    long elapsedMs() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    void say(String line) {
        out.printf("[%6.1fs] %s%n", elapsedMs() / 1000.0, line);
        out.flush();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Kills whatever still runs. */
    @Override
    public void close() throws InterruptedException {
        for (Child c : children) {
            if (c.alive()) {
                c.kill();
            }
        }
    }
}
