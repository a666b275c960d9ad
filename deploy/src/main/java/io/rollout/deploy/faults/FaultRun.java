package io.rollout.deploy.faults;

import io.rollout.deploy.faults.Child.Kind;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.SchemaHistory;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.avro.Schema;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The fault-injection run: a broker, env-service, two advantage-app instances, the trainer
 * (with its scheduler) and three actors, each its own process on loopback. A seeded driver
 * kills and restarts processes of every kind (SIGKILL; the broker on its data directory),
 * pauses the broker with SIGSTOP, restarts env-service and writes bad records on the
 * pipeline's topics. Then the run settles, the trainer is stopped, and {@link Audit} checks
 * the topics and the trainer's log.
 */
public final class FaultRun {

    /**
     * @param faultPhase how long faults are injected
     * @param killsPerKind SIGKILLs of each kind of process (the broker included)
     * @param brokerPause how long the broker is stopped with SIGSTOP
     * @param settle quiet time after the last fault before the trainer is stopped
     * @param taskTimeout the scheduler's task timeout (re-queues groups lost to a fault)
     */
    public record Settings(Path dir, long seed, Duration faultPhase, int killsPerKind, Duration brokerPause,
            Duration settle, Duration taskTimeout, Duration groupTimeout) {

        public Settings {
            if (killsPerKind < 1) {
                throw new IllegalArgumentException("kills-per-kind must be >= 1");
            }
        }
    }

    /** One injected fault and how long the pipeline took to get over it. */
    public record Fault(String kind, String target, long atMs, long healthyAfterMs, long progressAfterMs) {}

    private static final String PREFIX = "faults.";
    private static final Duration UP_TIMEOUT = Duration.ofMinutes(4);

    private final Settings settings;
    private final PrintStream out;
    private final SplittableRandom random;
    private final TopicCatalog topics = TopicCatalog.builder().prefix(PREFIX).build();
    private final List<Child> children = new ArrayList<>();
    private final List<Fault> faults = new ArrayList<>();
    private final List<Audit.Injected> injected = new ArrayList<>();
    /** Processes that exited without being killed by the driver: each is a finding. */
    private final List<String> unexpectedExits = new ArrayList<>();
    private Child broker;
    private Child env;
    private Child trainer;
    private final List<Child> advantage = new ArrayList<>();
    private final List<Child> actors = new ArrayList<>();
    private String bootstrap;
    private long startNanos;

    public FaultRun(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
        this.random = new SplittableRandom(settings.seed());
    }

    /** Runs the whole thing and audits it; the report says whether every check held. */
    public Audit.Report run() throws Exception {
        startNanos = System.nanoTime();
        Files.createDirectories(settings.dir());
        try {
            startAll();
            say("pipeline up; injecting faults for " + settings.faultPhase());
            injectFaults();
            say("faults done; settling for " + settings.settle());
            awaitHealthy(children, UP_TIMEOUT);
            Thread.sleep(settings.settle().toMillis());
            say("stopping the trainer");
            boolean trainerStopped = trainer.terminate(Duration.ofSeconds(30));
            Audit audit = new Audit(kafka(), topics, settings.dir().resolve("trained.jsonl"),
                    settings.dir().resolve("checkpoints"), injected);
            long newest = audit.newestPublishedVersion();
            Duration actorCatchUp = awaitActorsOn(newest, Duration.ofSeconds(90));
            for (Child c : actors) {
                c.terminate(Duration.ofSeconds(30));
            }
            for (Child c : advantage) {
                c.terminate(Duration.ofSeconds(30));
            }
            env.terminate(Duration.ofSeconds(10));
            Audit.Report report = audit.report(faults, trainerStopped, actorCatchUp, restarts(), unexpectedExits);
            broker.terminate(Duration.ofSeconds(60));
            return report;
        } finally {
            for (Child c : children) {
                if (c.alive()) {
                    c.kill();
                }
            }
        }
    }

    private java.util.Map<String, Integer> restarts() {
        java.util.Map<String, Integer> r = new java.util.TreeMap<>();
        children.forEach(c -> r.put(c.name, c.starts() - 1));
        return r;
    }

    private Properties kafka() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        return p;
    }

    private void startAll() throws Exception {
        Path model = settings.dir().resolve("model");
        if (!Files.exists(model.resolve("config.json"))) {
            TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), settings.seed());
        }
        Path logs = settings.dir().resolve("logs");
        Files.createDirectories(logs);
        int brokerPort = freePort();
        bootstrap = "127.0.0.1:" + brokerPort;
        broker = add(new Child("broker", Kind.BROKER, "512m", brokerPort, logs.resolve("broker.log"), List.of(
                "broker", "--data-dir", settings.dir().resolve("broker").toString(), "--port",
                Integer.toString(brokerPort))));
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
                            "--bootstrap", bootstrap, "--prefix", PREFIX, "--application-id", "faults-advantage",
                            "--state-dir", settings.dir().resolve("advantage-" + i).toString(),
                            "--group-timeout", settings.groupTimeout().toSeconds() + "s",
                            "--metrics-port", Integer.toString(port)))));
        }
        int trainerPort = freePort();
        trainer = add(new Child("trainer", Kind.TRAINER, "768m", trainerPort, logs.resolve("trainer.log"), List.of(
                "learner-service", "train", "--bootstrap", bootstrap, "--prefix", PREFIX,
                "--model", model.toString(), "--checkpoint-dir", settings.dir().resolve("checkpoints").toString(),
                "--checkpoint-every", "3", "--trained-log", settings.dir().resolve("trained.jsonl").toString(),
                "--task", "env=sokoban,group-size=4,max-steps=5", "--run-id", "faults",
                "--max-in-flight", "8", "--batch-groups", "2", "--max-staleness", "1000000",
                "--task-timeout", settings.taskTimeout().toSeconds() + "s", "--max-retries", "5",
                "--lora-rank", "4", "--seed", Long.toString(settings.seed()),
                "--metrics-port", Integer.toString(trainerPort))));
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
        awaitVersionAbove(0, UP_TIMEOUT);
    }

    private Child add(Child c) {
        children.add(c);
        return c;
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

    /** The seeded fault plan: each kind of kill {@code killsPerKind} times, a broker pause, an env restart, bad records. */
    private List<String> plan() {
        List<String> plan = new ArrayList<>();
        for (int i = 0; i < settings.killsPerKind(); i++) {
            for (Kind k : Kind.values()) {
                plan.add("kill:" + k);
            }
        }
        plan.add("pause:BROKER");
        plan.add("restart:ENV_SERVICE");
        plan.add("inject:bad-records");
        plan.add("inject:bad-records");
        Collections.shuffle(plan, new java.util.Random(settings.seed()));
        return plan;
    }

    private void injectFaults() throws Exception {
        List<String> plan = plan();
        long phaseEnd = System.nanoTime() + settings.faultPhase().toNanos();
        for (int i = 0; i < plan.size(); i++) {
            String step = plan.get(i);
            String kind = step.substring(0, step.indexOf(':'));
            String what = step.substring(step.indexOf(':') + 1);
            long at = elapsedMs();
            long version = trainerVersion();
            Child target = null;
            switch (kind) {
                case "kill" -> {
                    target = pick(Kind.valueOf(what));
                    say("SIGKILL " + target);
                    target.kill();
                    Thread.sleep(1000 + random.nextInt(3000));
                    target.start();
                }
                case "pause" -> {
                    target = broker;
                    say("SIGSTOP broker for " + settings.brokerPause());
                    target.signal("STOP");
                    Thread.sleep(settings.brokerPause().toMillis());
                    target.signal("CONT");
                }
                case "restart" -> {
                    target = env;
                    say("restarting env-service (SIGTERM, start)");
                    target.terminate(Duration.ofSeconds(10));
                    target.start();
                }
                default -> {
                    say("writing bad records on every topic");
                    injectBadRecords();
                }
            }
            long healthy = -1;
            if (target != null) {
                awaitHealthy(List.of(target), UP_TIMEOUT);
                healthy = elapsedMs() - at;
            }
            long progress = awaitVersionAbove(version, Duration.ofMinutes(3)) ? elapsedMs() - at : -1;
            faults.add(new Fault(kind + ":" + what.toLowerCase(java.util.Locale.ROOT),
                    target == null ? "topics" : target.name, at, healthy, progress));
            say(String.format("  recovered: healthy after %d ms, new version after %d ms", healthy, progress));
            long left = phaseEnd - System.nanoTime();
            int remaining = plan.size() - i - 1;
            if (remaining > 0 && left > 0) {
                Thread.sleep(Math.min(left / remaining / 1_000_000, 60_000));
            }
        }
    }

    private Child pick(Kind kind) {
        List<Child> of = children.stream().filter(c -> c.kind == kind).toList();
        return of.get(random.nextInt(of.size()));
    }

    /**
     * Bad bytes on every topic a service reads: a 15-byte record of the topic's own record type
     * whose header declares a 1.5 GB string, and bytes that are not Avro at all.
     */
    private void injectBadRecords() throws Exception {
        Properties p = kafka();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            int n = injected.size();
            record Target(String topic, Schema schema) {}
            List<Target> targets = List.of(new Target(topics.tasks().name(), Task.getClassSchema()),
                    new Target(topics.steps().name(), Step.getClassSchema()),
                    new Target(topics.samples().name(), TrainingSample.getClassSchema()),
                    new Target(topics.weights().name(), WeightManifest.getClassSchema()),
                    new Target(topics.dropped().name(), DroppedGroup.getClassSchema()));
            for (Target t : targets) {
                byte[] key = ("bad-" + n++).getBytes(StandardCharsets.UTF_8);
                for (byte[] value : List.of(hostile(t.schema()), ("not avro " + n).getBytes(StandardCharsets.UTF_8))) {
                    producer.send(new ProducerRecord<>(t.topic(), key, value)).get();
                    injected.add(new Audit.Injected(t.topic(), value));
                }
            }
        }
    }

    /** Single-object header of {@code schema}, then a varint length of 1.5e9: 15 bytes. */
    static byte[] hostile(Schema schema) {
        ByteBuffer b = ByteBuffer.allocate(15).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0xC3).put((byte) 0x01).putLong(SchemaHistory.fingerprint(schema));
        long zigzag = 1_500_000_000L << 1;
        for (int i = 0; i < 5; i++) {
            byte next = (byte) (zigzag & 0x7F);
            zigzag >>>= 7;
            b.put(i < 4 ? (byte) (next | 0x80) : next);
        }
        return b.array();
    }

    private long trainerVersion() {
        double v = Child.gauge(trainer.metrics(), "rollout_trainer_version");
        return Double.isNaN(v) ? -1 : (long) v;
    }

    private boolean awaitVersionAbove(long version, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (trainerVersion() > version) {
                return true;
            }
            Thread.sleep(500);
        }
        return false;
    }

    private Duration awaitActorsOn(long version, Duration timeout) throws InterruptedException {
        long t0 = System.nanoTime();
        long deadline = t0 + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            boolean all = actors.stream().allMatch(a -> Child.gauge(a.metrics(), "rollout_actor_policy_version")
                    == version);
            if (all) {
                return Duration.ofNanos(System.nanoTime() - t0);
            }
            Thread.sleep(500);
        }
        return null;
    }

    private void awaitHealthy(List<Child> which, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<Child> down = which.stream().filter(c -> !c.healthy()).toList();
            if (down.isEmpty()) {
                return;
            }
            for (Child c : down) {
                if (!c.alive()) {
                    say(c + " exited by itself; starting it again");
                    unexpectedExits.add(c.name + " at " + elapsedMs() / 1000 + " s");
                    c.start();
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("not healthy within " + timeout + ": " + down + " (logs in "
                        + settings.dir().resolve("logs") + ")");
            }
            Thread.sleep(500);
        }
    }

    private long elapsedMs() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private void say(String line) {
        out.printf("[%6.1fs] %s%n", elapsedMs() / 1000.0, line);
        out.flush();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
