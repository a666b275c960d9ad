package io.rollout.deploy.reliability;

import io.rollout.deploy.reliability.Child.Kind;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.records.TrainingSample;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.SchemaHistory;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.avro.Schema;
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

    /**
     * One injected fault and how long the pipeline took to get over it; for a fault after which
     * training did not resume, {@code stalled} holds each process's last error line (else empty).
     */
    public record Fault(String kind, String target, long atMs, long healthyAfterMs, long progressAfterMs,
            String stalled) {}

    private final Settings settings;
    private final SplittableRandom random;
    private final Pipeline pipeline;
    private final List<Fault> faults = new ArrayList<>();
    private final List<Audit.Injected> injected = new ArrayList<>();

    public FaultRun(Settings settings, PrintStream out) {
        this.settings = settings;
        this.random = new SplittableRandom(settings.seed());
        this.pipeline = new Pipeline(settings.dir(), out, Pipeline.Shape.FAULTS);
    }

    /** Runs the whole thing and audits it; the report says whether every check held. */
    public Audit.Report run() throws Exception {
        try (Pipeline p = pipeline) {
            p.start(settings.seed(), settings.taskTimeout(), settings.groupTimeout());
            p.say("pipeline up; injecting faults for " + settings.faultPhase());
            injectFaults();
            p.say("faults done; settling for " + settings.settle());
            p.awaitHealthy(p.children, Pipeline.UP_TIMEOUT);
            Thread.sleep(settings.settle().toMillis());
            Audit.Report report = p.stopAndAudit(faults, injected).report();
            p.broker.terminate(Duration.ofSeconds(60));
            return report;
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
            long at = pipeline.elapsedMs();
            long version = pipeline.trainerVersion();
            Child target = null;
            switch (kind) {
                case "kill" -> {
                    target = pick(Kind.valueOf(what));
                    pipeline.say("SIGKILL " + target);
                    target.kill();
                    Thread.sleep(1000 + random.nextInt(3000));
                    target.start();
                }
                case "pause" -> {
                    target = pipeline.broker;
                    pipeline.say("SIGSTOP broker for " + settings.brokerPause());
                    target.signal("STOP");
                    Thread.sleep(settings.brokerPause().toMillis());
                    target.signal("CONT");
                }
                case "restart" -> {
                    target = pipeline.env;
                    pipeline.say("restarting env-service (SIGTERM, start)");
                    target.terminate(Duration.ofSeconds(10));
                    target.start();
                }
                default -> {
                    pipeline.say("writing bad records on every topic");
                    injectBadRecords();
                }
            }
            long healthy = -1;
            if (target != null) {
                pipeline.awaitHealthy(List.of(target), Pipeline.UP_TIMEOUT);
                healthy = pipeline.elapsedMs() - at;
            }
            long progress = pipeline.awaitVersionAbove(version, Duration.ofMinutes(3)) ? pipeline.elapsedMs() - at : -1;
            faults.add(new Fault(kind + ":" + what.toLowerCase(java.util.Locale.ROOT),
                    target == null ? "topics" : target.name, at, healthy, progress,
                    progress < 0 ? pipeline.lastErrors() : ""));
            pipeline.say(String.format("  recovered: healthy after %d ms, new version after %d ms", healthy, progress));
            long left = phaseEnd - System.nanoTime();
            int remaining = plan.size() - i - 1;
            if (remaining > 0 && left > 0) {
                // The rest of the phase is shared evenly between the faults still to come, so the
                // faults cover the whole phase whatever their number.
                Thread.sleep(left / remaining / 1_000_000);
            }
        }
    }

    private Child pick(Kind kind) {
        List<Child> of = pipeline.children.stream().filter(c -> c.kind == kind).toList();
        return of.get(random.nextInt(of.size()));
    }

    /**
     * Bad bytes on every topic a service reads: a 15-byte record of the topic's own record type
     * whose header declares a 1.5 GB string, and bytes that are not Avro at all.
     */
    private void injectBadRecords() throws Exception {
        Properties p = pipeline.kafka();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            int n = injected.size();
            record Target(String topic, Schema schema) {}
            List<Target> targets = List.of(new Target(pipeline.topics.tasks().name(), Task.getClassSchema()),
                    new Target(pipeline.topics.steps().name(), Step.getClassSchema()),
                    new Target(pipeline.topics.samples().name(), TrainingSample.getClassSchema()),
                    new Target(pipeline.topics.weights().name(), WeightManifest.getClassSchema()),
                    new Target(pipeline.topics.dropped().name(), DroppedGroup.getClassSchema()));
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

}
