package io.rollout.deploy.bench;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.distribution.ValueAtPercentile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.actor.play.AdapterRef;
import io.rollout.actor.play.BatchGenerator;
import io.rollout.actor.play.GroupPlayer;
import io.rollout.actor.play.PlayerConfig;
import io.rollout.actor.prompt.PromptBuilder;
import io.rollout.actor.service.Actor;
import io.rollout.actor.service.ActorMetrics;
import io.rollout.actor.service.ActorService;
import io.rollout.broker.EmbeddedKafkaBroker;
import io.rollout.env.client.EnvClient;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import io.rollout.learner.advantage.AdvantageConfig;
import io.rollout.learner.advantage.AdvantageService;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.policy.Engines;
import io.rollout.policy.Policy;
import io.rollout.policy.sampling.ContinuousBatcher;
import io.rollout.policy.lora.LoraAdapter;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.sampling.Completion;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import io.rollout.records.LoraConfig;
import io.rollout.records.Step;
import io.rollout.records.Task;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.Partitions;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import io.rollout.weights.WeightPublisher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The actor side of the pipeline on one embedded broker, in two parts.
 *
 * <ol>
 *   <li><b>Overhead</b>: actors whose policy picks uniformly random actions (no model call; the
 *       tiny model's tokenizer builds the prompts) play {@code GROUPS} Sokoban groups of 8
 *       episodes against env-service; steps go through the advantage stream (exactly-once) into
 *       {@code train.samples}. End-to-end steps/s = samples / (first task sent → last sample
 *       read, read_committed). Then, on the same broker, a producer with the actors' settings
 *       (acks=all, idempotent) sends records of the mean step size as fast as it can: raw
 *       records/s. The ratio is the pipeline's share of raw throughput. The clock starts once
 *       every actor has joined its consumer group; the run includes the JIT's warm-up, so more
 *       {@code GROUPS} read closer to the steady state.</li>
 *   <li><b>Tiny model</b>: once every actor has made a step (steady state: steps/s and swaps
 *       are counted from then; the decode figures include the warm-up), actors sampling from
 *       the tiny model play for {@code SECONDS} while a
 *       publisher puts a new adapter version on {@code policy.weights} every 2 s. Reports the
 *       share of the players' time spent in generation calls and waiting (env-service calls,
 *       Kafka acknowledgements, prompt building, the next task), and the adapter swap
 *       latency from a version's manifest timestamp to the first step generated with it, and how
 *       full each actor's decode batch was (sequences per decode step, up to
 *       {@code MAX_BATCH}, its {@code --max-batch-sequences}).</li>
 * </ol>
 *
 * <p>PyTorch's intra-op threads default to the cores divided by {@code ACTORS} (the actors'
 * generation threads share this process); {@code -Dai.djl.pytorch.num_threads=N} overrides it.</p>
 *
 * <pre>mvn -B -q -pl deploy -Pbench test-compile exec:exec
 *     [-Dbench.args="GROUPS SECONDS ACTORS IN_FLIGHT [MAX_BATCH]", default "300 60 2 2 64"]</pre>
 */
public final class PipelineBenchmark {

    private static final String[] MOVES = {"up", "down", "left", "right"};

    public static void main(String[] args) throws Exception {
        int groups = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        int actors = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int inFlight = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        int maxBatch = args.length > 4 ? Integer.parseInt(args[4]) : ContinuousBatcher.Settings.DEFAULT_MAX_SEQUENCES;
        // The actors' generation threads share this process and its cores: PyTorch's intra-op
        // pool gets each actor's share of the cores (docs/deploy.md, sizing), unless the command
        // line sets it. Before the engine loads.
        String torchThreads = Engines.threads(0, actors);
        Path dir = Files.createTempDirectory("pipeline-bench");
        Path model = dir.resolve("model");
        TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), 7);
        SessionManager sessions = new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 4096,
                Duration.ofMinutes(5), System::nanoTime);
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir.resolve("broker")).port(0).start();
                EnvServer env = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 1 << 20, Duration.ofMinutes(1)),
                        sessions, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
                EnvClient client = EnvClient.create(env.url(), Duration.ofSeconds(5), Duration.ofSeconds(30));
                Policy policy = Policy.load(model)) {
            Properties kafka = new Properties();
            kafka.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
            System.out.printf("machine: %d cpus; %d actors, %d groups in flight each, decode batch <= %d sequences; "
                    + "PyTorch intra-op threads %s (-D%s)%n", Runtime.getRuntime().availableProcessors(), actors,
                    inFlight, maxBatch, torchThreads, Engines.INTRA_OP_THREADS);
            overhead(kafka, dir, client, policy, groups, actors, inFlight);
            tinyModel(kafka, client, policy, seconds, actors, inFlight, maxBatch);
        }
    }

    private static TopicCatalog topics(Properties kafka, String prefix) throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix(prefix).build();
        try (Admin admin = Admin.create(kafka)) {
            new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(60)).ensure(topics.all());
        }
        return topics;
    }

    private static void sendTasks(Properties kafka, TopicCatalog topics, String prefix, int groups) throws Exception {
        try (KafkaProducer<String, Task> producer = new KafkaProducer<>(kafka, topics.tasks().keySerde().serializer(),
                topics.tasks().valueSerde().serializer())) {
            for (int g = 0; g < groups; g++) {
                String id = prefix + g;
                producer.send(new ProducerRecord<>(topics.tasks().name(), id, Task.newBuilder().setGroupId(id)
                        .setEnv("sokoban").setEnvConfig(Map.of()).setSeed(g).setGroupSize(8).setMaxSteps(20)
                        .setAttempt(0).setPolicyVersion(0).setCreatedAtMs(System.currentTimeMillis()).build()));
            }
            producer.flush();
        }
    }

    private static void overhead(Properties kafka, Path dir, EnvClient client, Policy policy, int groups, int actors,
            int inFlight) throws Exception {
        TopicCatalog topics = topics(kafka, "overhead.");
        try (AdvantageService advantage = new AdvantageService(topics, AdvantageConfig.defaults(),
                AdvantageService.streamsProperties(kafka, "overhead-advantage", dir.resolve("streams"),
                        Duration.ofMillis(100), 1), new SimpleMeterRegistry())) {
            advantage.start(Duration.ofSeconds(60));
            ExecutorService envCalls = Executors.newFixedThreadPool(8 * inFlight * actors);
            List<ActorService> services = new ArrayList<>();
            for (int a = 0; a < actors; a++) {
                PlayerConfig config = PlayerConfig.defaults("random-" + a, "compact");
                SplittableRandom random = new SplittableRandom(a);
                int[] tokens = new int[8];
                float[] logProbs = new float[8];
                Arrays.fill(logProbs, (float) Math.log(0.25));
                BatchGenerator uniform = (prompts, params, adapter) -> {
                    List<Completion> out = new ArrayList<>(prompts.size());
                    synchronized (random) {
                        for (int i = 0; i < prompts.size(); i++) {
                            out.add(new Completion(tokens, logProbs, MOVES[random.nextInt(4)], null));
                        }
                    }
                    return out;
                };
                ActorMetrics metrics = new ActorMetrics(new SimpleMeterRegistry(), () -> 0);
                GroupPlayer player = new GroupPlayer(client, new PromptBuilder(policy, config.format(), 0, 4096),
                        metrics.timed(uniform), config, envCalls);
                ActorService service = new ActorService(player, AdapterRef.base(), null,
                        new ActorService.Settings("random-" + a, "overhead-actors", inFlight, Duration.ofSeconds(10)),
                        topics, kafka, metrics);
                service.start();
                services.add(service);
            }
            // The clock starts once every actor has joined the consumer group: otherwise the first
            // seconds measure one actor holding every partition while the others join.
            long joinDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!services.stream().allMatch(ActorService::ready) && System.nanoTime() < joinDeadline) {
                Thread.sleep(50);
            }
            CpuSplit cpu = new CpuSplit();
            long start = System.nanoTime();
            sendTasks(kafka, topics, "overhead-", groups);
            long samples = awaitSamples(kafka, topics, groups);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Double> cpuSeconds = cpu.since();
            services.forEach(ActorService::close);
            envCalls.shutdownNow();
            long[] stepBytes = new long[1];
            long steps = countRecords(kafka, topics.steps().name(), stepBytes);
            int meanBytes = (int) (stepBytes[0] / Math.max(1, steps));
            double pipeline = samples / seconds;
            double raw = rawProducer(kafka, meanBytes, Math.max(50_000, (int) steps));
            System.out.printf("overhead: %d groups, %d steps (mean %d bytes) -> %d samples in %.1f s: %.0f steps/s "
                    + "end to end%n", groups, steps, meanBytes, samples, seconds, pipeline);
            System.out.printf("overhead: raw producer, %d-byte records, acks=all idempotent: %.0f records/s%n",
                    meanBytes, raw);
            System.out.printf("overhead: pipeline / raw = %.1f%% (target >= 40%%)%n", 100 * pipeline / raw);
            double total = cpuSeconds.values().stream().mapToDouble(Double::doubleValue).sum();
            System.out.printf("overhead: CPU %.1f s of %.1f s x %d cores (%.0f%%), %.0f us per step:%n", total, seconds,
                    Runtime.getRuntime().availableProcessors(),
                    100 * total / seconds / Runtime.getRuntime().availableProcessors(), total / samples * 1e6);
            cpuSeconds.forEach((part, s) -> System.out.printf("overhead:   %-44s %5.1f s %4.0f%% %6.1f us per step%n",
                    part, s, 100 * s / total, s / samples * 1e6));
        }
    }

    /**
     * The process's CPU time by part of the pipeline, from each live thread's CPU time (by its
     * name) and the process's total; what no live thread accounts for (the JIT's compilers, the
     * garbage collector, threads that ended meanwhile) is "JIT, GC and ended threads".
     */
    private static final class CpuSplit {

        /** Thread name patterns, first match wins, and the part each names. */
        private static final Map<java.util.regex.Pattern, String> PARTS = orderedParts(
                "overhead-advantage", "advantage app (stream thread, its producer)",
                "Jetty|qtp|env-", "env-service (HTTP server)",
                "-player-|pool-", "actors' players (env client, prompts, Avro)",
                "random-|overhead-actors", "actors' Kafka clients (producer, poll)",
                "^main$", "benchmark (tasks in, samples read)");
        private static final String BROKER = "broker (embedded, all its threads)";
        private static final String OTHER = "JIT, GC and ended threads";

        private final Map<String, Double> before;

        CpuSplit() {
            before = now();
        }

        /** CPU seconds per part since construction, largest first. */
        Map<String, Double> since() {
            Map<String, Double> after = now();
            Map<String, Double> delta = new java.util.LinkedHashMap<>();
            after.entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), e.getValue() - before.getOrDefault(e.getKey(), 0.0)))
                    .sorted((a, b) -> Double.compare(b.getValue(), a.getValue()))
                    .forEach(e -> delta.put(e.getKey(), e.getValue()));
            return delta;
        }

        private static Map<String, Double> now() {
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            Map<String, Double> parts = new HashMap<>();
            double threads = 0;
            for (java.lang.management.ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
                long nanos = info == null ? -1 : mx.getThreadCpuTime(info.getThreadId());
                if (nanos <= 0) {
                    continue;
                }
                parts.merge(part(info.getThreadName()), nanos / 1e9, Double::sum);
                threads += nanos / 1e9;
            }
            long process = ((com.sun.management.OperatingSystemMXBean)
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
            parts.put(OTHER, process / 1e9 - threads);
            return parts;
        }

        private static String part(String thread) {
            return PARTS.entrySet().stream().filter(e -> e.getKey().matcher(thread).find()).map(Map.Entry::getValue)
                    .findFirst().orElse(BROKER);
        }

        private static Map<java.util.regex.Pattern, String> orderedParts(String... patternsAndParts) {
            Map<java.util.regex.Pattern, String> parts = new java.util.LinkedHashMap<>();
            for (int i = 0; i < patternsAndParts.length; i += 2) {
                parts.put(java.util.regex.Pattern.compile(patternsAndParts[i]), patternsAndParts[i + 1]);
            }
            return parts;
        }
    }

    /** Reads train.samples (read_committed) until every group's samples are in; returns the count. */
    private static long awaitSamples(Properties kafka, TopicCatalog topics, int groups) {
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = Partitions.of(consumer, topics.samples().name(),
                    Duration.ofSeconds(30));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<String, Integer> expected = new HashMap<>();
            Map<String, Integer> seen = new HashMap<>();
            long count = 0;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
            while (System.nanoTime() < deadline) {
                for (var r : consumer.poll(Duration.ofMillis(100))) {
                    var s = topics.samples().valueSerde().deserializer().deserialize(r.topic(), r.value());
                    expected.put(s.getGroupId().toString(), s.getGroupSamples());
                    seen.merge(s.getGroupId().toString(), 1, Integer::sum);
                    count++;
                }
                if (expected.size() == groups && expected.equals(seen)) {
                    return count;
                }
            }
            throw new IllegalStateException("only " + expected.size() + " of " + groups + " groups trained-ready in 20 min");
        }
    }

    /** Records on a topic (all partitions), adding their value sizes to {@code bytes[0]}. */
    private static long countRecords(Properties kafka, String topic, long[] bytes) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> parts = Partitions.of(consumer, topic, Duration.ofSeconds(30));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts);
            long n = 0;
            List<Long> envMicros = new ArrayList<>();
            var steps = AvroSerde.of(Step.class);
            while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (var r : consumer.poll(Duration.ofMillis(200))) {
                    bytes[0] += r.value().length;
                    envMicros.add(steps.deserialize(r.topic(), r.value()).getTimings().getEnvMicros());
                    n++;
                }
            }
            envMicros.sort(null);
            System.out.printf("overhead: env-service step call as the actors saw it: mean %.1f ms, p50 %.1f ms, "
                    + "p99 %.1f ms%n", envMicros.stream().mapToLong(Long::longValue).average().orElse(0) / 1000,
                    envMicros.get(envMicros.size() / 2) / 1000.0, envMicros.get(envMicros.size() * 99 / 100) / 1000.0);
            return n;
        }
    }

    private static double rawProducer(Properties kafka, int bytes, int records) throws Exception {
        try (Admin admin = Admin.create(kafka)) {
            admin.createTopics(List.of(new NewTopic("raw.steps", 6, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.putAll(kafka);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        byte[] value = new byte[bytes];
        new SplittableRandom(1).nextBytes(value);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            // Warm-up: one acknowledged record per partition, so leaders and producer state are settled.
            for (int partition = 0; partition < 6; partition++) {
                producer.send(new ProducerRecord<>("raw.steps", partition, null, value)).get();
            }
            long start = System.nanoTime();
            for (int i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>("raw.steps", ("g-" + (i / 80)).getBytes(), value));
            }
            producer.flush();
            return records / ((System.nanoTime() - start) / 1e9);
        }
    }

    private static void tinyModel(Properties kafka, EnvClient client, Policy policy, int seconds, int actors,
            int inFlight, int maxBatch) throws Exception {
        TopicCatalog topics = topics(kafka, "tiny.");
        List<Actor> started = new ArrayList<>();
        List<SimpleMeterRegistry> registries = new ArrayList<>();
        for (int a = 0; a < actors; a++) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            // The rounds' length decides the swap latency: their percentiles, in this run only.
            registry.config().meterFilter(new MeterFilter() {
                @Override
                public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
                    if (id.getName().equals("rollout.actor.generate")) {
                        return DistributionStatisticConfig.builder().percentiles(0.5, 0.99).build().merge(config);
                    }
                    if (id.getName().equals("rollout.actor.adapter.swap.latency")) {
                        return DistributionStatisticConfig.builder().percentiles(0.5, 0.9, 0.99).build()
                                .merge(config);
                    }
                    return config;
                }
            });
            registries.add(registry);
            started.add(Actor.start(policy, client, PlayerConfig.defaults("tiny-" + a, "compact").withSeed((long) a),
                    new ActorService.Settings("tiny-" + a, "tiny-actors", inFlight, Duration.ofSeconds(10)), topics, kafka,
                    registry, "policy", Duration.ofSeconds(30), 8 * inFlight,
                    new ContinuousBatcher.Settings(maxBatch)));
        }
        sendTasks(kafka, topics, "tiny-", 100_000);
        LoraSpec spec = LoraSpec.defaults("tiny");
        LoraConfig lora = TrainerService.loraConfig(spec);
        // Steady state: the clock and the versions start once every actor plays (an actor that
        // joins its consumer group late has no group to take a swap into its first step).
        long warmDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (registries.stream().anyMatch(r -> r.get("rollout.actor.steps").counter().count() == 0)) {
            if (System.nanoTime() > warmDeadline) {
                throw new IllegalStateException("an actor made no step within 120 s");
            }
            Thread.sleep(50);
        }
        long warmSteps = registries.stream().mapToLong(r -> (long) r.get("rollout.actor.steps").counter().count())
                .sum();
        long start = System.nanoTime();
        try (WeightPublisher publisher = WeightPublisher.builder(kafka, topics, "policy").open()) {
            for (long v = 1; System.nanoTime() - start < TimeUnit.SECONDS.toNanos(seconds); v++) {
                try (LoraAdapter adapter = policy.newAdapter(spec, v)) {
                    publisher.publish(v, adapter.toBytes(), lora);
                }
                Thread.sleep(2000);
            }
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double generate = 0;
        long swaps = 0;
        double p50 = 0;
        double p90 = 0;
        double p99 = 0;
        double max = 0;
        double swapTotal = 0;
        long readable = 0;
        double readableTotal = 0;
        double readableMax = 0;
        double loadTotal = 0;
        long loads = 0;
        double roundP50 = 0;
        double roundP99 = 0;
        for (SimpleMeterRegistry r : registries) {
            generate += r.get("rollout.actor.generate").timer().totalTime(TimeUnit.SECONDS);
            for (ValueAtPercentile v : r.get("rollout.actor.generate").timer().takeSnapshot().percentileValues()) {
                if (v.percentile() == 0.5) {
                    roundP50 = Math.max(roundP50, v.value(TimeUnit.MILLISECONDS));
                } else if (v.percentile() == 0.99) {
                    roundP99 = Math.max(roundP99, v.value(TimeUnit.MILLISECONDS));
                }
            }
            loads += r.get("rollout.actor.adapter.load").timer().count();
            loadTotal += r.get("rollout.actor.adapter.load").timer().totalTime(TimeUnit.MILLISECONDS);
            Timer swap = r.get("rollout.actor.adapter.swap.latency").timer();
            swaps += swap.count();
            swapTotal += swap.totalTime(TimeUnit.MILLISECONDS);
            Timer reader = r.get("rollout.weights.readable.latency").timer();
            readable += reader.count();
            readableTotal += reader.totalTime(TimeUnit.MILLISECONDS);
            readableMax = Math.max(readableMax, reader.max(TimeUnit.MILLISECONDS));
            max = Math.max(max, swap.max(TimeUnit.MILLISECONDS));
            for (ValueAtPercentile v : swap.takeSnapshot().percentileValues()) {
                if (v.percentile() == 0.5) {
                    p50 = Math.max(p50, v.value(TimeUnit.MILLISECONDS));
                } else if (v.percentile() == 0.9) {
                    p90 = Math.max(p90, v.value(TimeUnit.MILLISECONDS));
                } else if (v.percentile() == 0.99) {
                    p99 = Math.max(p99, v.value(TimeUnit.MILLISECONDS));
                }
            }
        }
        long steps = registries.stream().mapToLong(r -> (long) r.get("rollout.actor.steps").counter().count()).sum()
                - warmSteps;
        long decodeSteps = 0;
        double sequences = 0;
        double decoding = 0;
        long prefills = 0;
        double prefilling = 0;
        for (SimpleMeterRegistry r : registries) {
            decodeSteps += r.get("rollout.actor.decode.batch").summary().count();
            sequences += r.get("rollout.actor.decode.batch").summary().totalAmount();
            decoding += r.get("rollout.actor.decode.step").timer().totalTime(TimeUnit.SECONDS);
            prefills += r.get("rollout.actor.decode.prefill").timer().count();
            prefilling += r.get("rollout.actor.decode.prefill").timer().totalTime(TimeUnit.SECONDS);
        }
        started.forEach(Actor::close);
        double workerTime = wall * actors * inFlight;
        System.out.printf("tiny model: %d steps in %.0f s (%.0f steps/s) by %d actors x %d groups in flight%n", steps,
                wall, steps / wall, actors, inFlight);
        System.out.printf("tiny model: player time generating %.1f%%, waiting (env-service, Kafka acks, prompts, "
                + "next task) %.1f%%%n", 100 * generate / workerTime, 100 * (1 - generate / workerTime));
        System.out.printf("tiny model: %d decode steps, %.1f sequences per step on average, %.2f ms per step; "
                + "%d prefills, %.1f ms each; generation thread busy %.1f%% of the time%n", decodeSteps,
                sequences / Math.max(1, decodeSteps), 1000 * decoding / Math.max(1, decodeSteps), prefills,
                1000 * prefilling / Math.max(1, prefills), 100 * (decoding + prefilling) / (wall * actors));
        System.out.printf("tiny model: adapter swaps measured %d; latency p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, "
                + "max %.0f ms, mean %.0f ms (target p99 <= 250 ms at 8 groups in flight)%n", swaps, p50, p90, p99, max,
                swapTotal / Math.max(1, swaps));
        System.out.printf("tiny model: of which the weight reader (manifest to version accepted): mean %.0f ms, "
                + "max %.0f ms over %d versions; loading the adapter: mean %.0f ms; the rest is the wait for a "
                + "group's next round and that round (a round, prompts to completions: p50 %.0f ms, p99 %.0f ms) "
                + "and its env step%n", readableTotal / Math.max(1, readable), readableMax, readable,
                loadTotal / Math.max(1, loads), roundP50, roundP99);
    }
}
