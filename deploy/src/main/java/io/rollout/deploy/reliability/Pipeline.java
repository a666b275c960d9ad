package io.rollout.deploy.reliability;

import io.rollout.actor.cli.ActorCommand;
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
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;

/**
 * The pipeline as separate processes on loopback, the way an operator deploys it: a broker,
 * env-service, advantage-app instances, the trainer with its scheduler and actors on the tiny
 * model, each restartable on the same ports and data directories. The fault run and the soak
 * drive it with {@link Shape#FAULTS}; the scale-out run adds and stops actors while it runs.
 */
final class Pipeline implements AutoCloseable {

    /**
     * How many of each process, and how the actors join their group.
     *
     * @param maxInFlight the scheduler's groups in flight
     * @param staticMembership whether each actor joins with {@code group.instance.id} = its id
     * @param quickStart whether the JVMs stop at the C1 compiler: quicker starts, slower loops
     * @param torchThreads PyTorch's intra-op threads in each actor and the trainer, 0 for the
     *     engine's default (every core of the machine, in each process)
     */
    record Shape(int advantageApps, int actors, int maxInFlight, boolean staticMembership, boolean quickStart,
            int torchThreads, int groupsInFlight) {

        /**
         * Two advantage apps, three actors, eight groups in flight in the scheduler and two per
         * actor, dynamic membership, quick starts.
         */
        static final Shape FAULTS = new Shape(2, 3, 8, false, true, 0, 2);

        Shape {
            if (advantageApps < 1 || actors < 1 || maxInFlight < 1 || torchThreads < 0 || groupsInFlight < 1) {
                throw new IllegalArgumentException("advantage apps, actors and groups in flight must be >= 1, "
                        + "torch threads >= 0");
            }
        }

        /** The system properties that set {@link #torchThreads} for a JVM running the model. */
        List<String> modelJvmOptions() {
            return torchThreads == 0 ? List.of() : List.of("-Dai.djl.pytorch.num_threads=" + torchThreads,
                    "-Dai.djl.pytorch.num_interop_threads=1");
        }
    }

    static final String PREFIX = "reliability.";
    static final Duration UP_TIMEOUT = Duration.ofMinutes(4);

    final TopicCatalog topics = TopicCatalog.builder().prefix(PREFIX).build();
    final List<Child> children = new ArrayList<>();
    final List<Child> advantage = new ArrayList<>();
    final List<Child> actors = new ArrayList<>();
    /** Processes that exited without being stopped by the driver: each is a finding. */
    final List<String> unexpectedExits = new ArrayList<>();
    /** Actors stopped for good by the driver: no longer watched or restarted. */
    final List<Child> retired = new ArrayList<>();
    Child broker;
    Child env;
    Child trainer;
    private final Path dir;
    private final PrintStream out;
    private final Shape shape;
    private final long startNanos = System.nanoTime();
    private String bootstrap;
    private int envPort;
    private Path model;
    private Path logs;

    Pipeline(Path dir, PrintStream out, Shape shape) {
        this.dir = dir;
        this.out = out;
        this.shape = shape;
    }

    /**
     * Starts every process and waits until each is healthy and the trainer published a version.
     *
     * @param taskTimeout the scheduler's task timeout (re-queues groups lost to a fault)
     * @param groupTimeout the advantage app's group timeout
     */
    void start(long seed, Duration taskTimeout, Duration groupTimeout) throws Exception {
        Files.createDirectories(dir);
        model = dir.resolve("model");
        if (!Files.exists(model.resolve("config.json"))) {
            TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), seed);
        }
        logs = dir.resolve("logs");
        Files.createDirectories(logs);
        int brokerPort = freePort();
        bootstrap = "127.0.0.1:" + brokerPort;
        boolean quick = shape.quickStart();
        broker = add(new Child("broker", Kind.BROKER, "512m", quick, brokerPort, logs.resolve("broker.log"), List.of(
                "broker", "--data-dir", dir.resolve("broker").toString(), "--port", Integer.toString(brokerPort),
                "--metrics-port", "0")));
        broker.start();
        awaitHealthy(List.of(broker), UP_TIMEOUT);
        createTopics();

        envPort = freePort();
        env = add(new Child("env-service", Kind.ENV_SERVICE, "256m", quick, envPort, logs.resolve("env-service.log"),
                List.of("env-service", "serve", "--port", Integer.toString(envPort))));
        for (int i = 0; i < shape.advantageApps(); i++) {
            int port = freePort();
            advantage.add(add(new Child("advantage-" + i, Kind.ADVANTAGE, "384m", quick, port,
                    logs.resolve("advantage-" + i + ".log"), List.of("learner-service", "advantage-stream",
                            "--bootstrap", bootstrap, "--prefix", PREFIX, "--application-id",
                            PREFIX + "advantage", "--state-dir", dir.resolve("advantage-" + i).toString(),
                            "--group-timeout", groupTimeout.toSeconds() + "s",
                            // A restarted instance gets tasks only once the killed one's session
                            // expired: 10 s here instead of Kafka's 45 s, as the actors' 6 s.
                            "--kafka", "session.timeout.ms=10000",
                            "--metrics-port", Integer.toString(port)))));
        }
        int trainerPort = freePort();
        trainer = add(new Child("trainer", Kind.TRAINER, "768m", quick, shape.modelJvmOptions(), trainerPort,
                logs.resolve("trainer.log"),
                List.of(
                "learner-service", "train", "--bootstrap", bootstrap, "--prefix", PREFIX,
                "--model", model.toString(), "--checkpoint-dir", dir.resolve("checkpoints").toString(),
                "--checkpoint-every", "3", "--trained-log", trainedLog().toString(),
                "--task", "env=sokoban,group-size=4,max-steps=5", "--run-id", "reliability",
                "--max-in-flight", Integer.toString(shape.maxInFlight()), "--batch-groups", "2",
                "--max-staleness", "1000000",
                "--task-timeout", taskTimeout.toSeconds() + "s", "--max-retries", "5",
                "--lora-rank", "4", "--seed", Long.toString(seed), "--metrics-port", Integer.toString(trainerPort))));
        for (int i = 0; i < shape.actors(); i++) {
            actors.add(add(actor(i)));
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

    /**
     * Actor {@code index} (id {@code actor-INDEX}, seed INDEX), not started. Its Kafka session
     * times out after 6 s, so the group notices a killed actor quickly.
     */
    private Child actor(int index) throws IOException {
        int port = freePort();
        String id = "actor-" + index;
        List<String> args = new ArrayList<>(List.of("actor-service", "run", "--bootstrap", bootstrap, "--prefix",
                PREFIX, "--env-url", "http://127.0.0.1:" + envPort, "--model", model.toString(), "--actor-id", id,
                "--groups-in-flight", Integer.toString(shape.groupsInFlight()), "--seed", Integer.toString(index),
                "--max-new-tokens", "8", "--drain-timeout", "10s", "--kafka", "session.timeout.ms=6000",
                "--metrics-port", Integer.toString(port)));
        if (shape.staticMembership()) {
            args.addAll(List.of("--kafka", "group.instance.id=" + id));
        }
        return new Child(id, Kind.ACTOR, "384m", shape.quickStart(), shape.modelJvmOptions(), port,
                logs.resolve(id + ".log"), args);
    }

    /** Starts one more actor (the next unused index) and returns it; {@link #awaitHealthy} waits for it. */
    Child addActor() throws IOException {
        Child c = actor(actors.size() + retired.size());
        actors.add(add(c));
        c.start();
        return c;
    }

    /** Takes {@code actor} out of the pipeline for good, once the driver stopped it. */
    void retire(Child actor) {
        actors.remove(actor);
        children.remove(actor);
        retired.add(actor);
    }

    /** The actors' consumer group. */
    String actorGroup() {
        return PREFIX + ActorCommand.DEFAULT_CONSUMER_GROUP;
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
                    unexpectedExits.add(c.name + " at " + elapsedMs() / 1000 + " s, exit code " + c.exitCode()
                            + ": " + c.lastError(400));
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

    /** Each process's last error line (with its time), for a finding that outlives the run's logs. */
    String lastErrors() {
        StringBuilder s = new StringBuilder();
        for (Child c : children) {
            s.append("\n  ").append(c.name).append(c.alive() ? "" : " (not running)").append(": ")
                    .append(c.lastError(300));
        }
        return s.toString();
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

    /** The audit of a run, and the audit itself for more reads of the topics while the broker runs. */
    record Audited(Audit audit, Audit.Report report) {}

    /**
     * The end of a run: stops the trainer (SIGTERM), waits until the actors have its newest
     * version, stops the actors, the advantage apps and env-service, and audits the topics and
     * the trainer's log. The broker keeps running for the caller to stop.
     */
    Audited stopAndAudit(List<FaultRun.Fault> faults, List<Audit.Injected> injected) throws Exception {
        say("stopping the trainer");
        boolean trainerStopped = trainer.terminate(Duration.ofSeconds(30));
        Audit audit = new Audit(kafka(), topics, trainedLog(), checkpoints(), injected);
        Duration actorCatchUp = awaitActorsOn(audit.newestPublishedVersion(), Duration.ofSeconds(90));
        for (Child c : actors) {
            c.terminate(Duration.ofSeconds(30));
        }
        for (Child c : advantage) {
            c.terminate(Duration.ofSeconds(30));
        }
        env.terminate(Duration.ofSeconds(10));
        Map<String, Integer> restarts = new TreeMap<>();
        children.forEach(c -> restarts.put(c.name, c.starts() - 1));
        retired.forEach(c -> restarts.put(c.name, c.starts() - 1));
        return new Audited(audit, audit.report(faults, trainerStopped, actorCatchUp, restarts, unexpectedExits));
    }

    /** Kills whatever still runs. */
    @Override
    public void close() throws InterruptedException {
        for (Child c : children) {
            if (c.alive()) {
                c.kill();
            }
        }
        for (Child c : retired) {
            if (c.alive()) {
                c.kill();
            }
        }
    }
}
