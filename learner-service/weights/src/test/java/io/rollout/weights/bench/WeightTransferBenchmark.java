package io.rollout.weights.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rollout.broker.EmbeddedKafkaBroker;
import io.rollout.records.LoraConfig;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.topics.TopicCatalog;
import io.rollout.schemas.topics.TopicProvisioner;
import io.rollout.weights.WeightPublisher;
import io.rollout.weights.WeightReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;

/**
 * Publish → readable latency of adapter versions on policy.weights: from just before
 * {@link WeightPublisher#publish} to the moment a started {@link WeightReader} on the same
 * embedded broker has accepted the version (its listener fires), for 1 MiB and 16 MiB of
 * random bytes, after a warm-up at each size. Also reports how long publish() itself took.
 *
 * <p>Arguments, all optional: iterations at 1 MiB (30), iterations at 16 MiB (20), warm-up
 * publishes per size (5), chunk bytes (1 MiB). Run: see docs/weights.md.
 */
public final class WeightTransferBenchmark {

    private static final int MIB = 1024 * 1024;
    private static final Duration ACCEPT_TIMEOUT = Duration.ofSeconds(60);

    private WeightTransferBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int iterations1 = arg(args, 0, 30, 1);
        int iterations16 = arg(args, 1, 20, 1);
        int warmup = arg(args, 2, 5, 0);
        int chunkBytes = arg(args, 3, MIB, 1);
        System.out.printf("WeightTransferBenchmark: %d cores, Java %s, max heap %d MiB, chunk %d bytes, warm-up %d%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                Runtime.getRuntime().maxMemory() / MIB, chunkBytes, warmup);

        Path dir = Files.createTempDirectory("weights-bench-");
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().dataDir(dir).port(0).start()) {
            Properties kafka = KafkaSettings.merge(null, Map.of(), broker.bootstrapServers());
            TopicCatalog catalog = TopicCatalog.builder().prefix("bench.").build();
            try (Admin admin = Admin.create(kafka)) {
                new TopicProvisioner(admin, Optional.empty(), Duration.ofSeconds(30)).ensure(List.of(catalog.weights()));
            }
            BlockingQueue<long[]> accepted = new LinkedBlockingQueue<>();
            try (WeightPublisher publisher = WeightPublisher.builder(kafka, catalog, "bench").chunkBytes(chunkBytes)
                    .meterRegistry(new SimpleMeterRegistry()).open();
                 WeightReader reader = WeightReader.builder(kafka, catalog, "bench")
                         .meterRegistry(new SimpleMeterRegistry()).open()) {
                reader.addListener(v -> accepted.add(new long[] {v.version(), System.nanoTime()}));
                reader.start();
                LoraConfig lora = LoraConfig.newBuilder().setBaseModel("bench").setRank(16).setAlpha(32f)
                        .setTargetModules(List.of("q_proj", "k_proj", "v_proj", "o_proj")).build();
                Random random = new Random(42);
                long version = 0;
                System.out.printf("%-7s %4s | %-28s | %-28s%n", "size", "n", "publish -> readable (ms)",
                        "publish() call (ms)");
                System.out.printf("%-7s %4s | %8s %8s %8s   | %8s %8s %8s%n", "", "", "p50", "p99", "max", "p50",
                        "p99", "max");
                for (int[] run : new int[][] {{MIB, iterations1}, {16 * MIB, iterations16}}) {
                    byte[] bytes = new byte[run[0]];
                    List<Double> readable = new ArrayList<>();
                    List<Double> calls = new ArrayList<>();
                    for (int i = 0; i < warmup + run[1]; i++) {
                        random.nextBytes(bytes);
                        version++;
                        long start = System.nanoTime();
                        publisher.publish(version, bytes, lora);
                        long returned = System.nanoTime();
                        long acceptedAt = awaitAccepted(accepted, version);
                        if (i >= warmup) {
                            readable.add((acceptedAt - start) / 1e6);
                            calls.add((returned - start) / 1e6);
                        }
                    }
                    System.out.printf("%-7s %4d | %8.1f %8.1f %8.1f   | %8.1f %8.1f %8.1f%n", run[0] / MIB + " MiB",
                            run[1], pct(readable, 0.50), pct(readable, 0.99), pct(readable, 1.0),
                            pct(calls, 0.50), pct(calls, 0.99), pct(calls, 1.0));
                }
            }
        } finally {
            deleteRecursively(dir);
        }
    }

    /** The time the reader accepted {@code version}; fails if it skips or misses it. */
    private static long awaitAccepted(BlockingQueue<long[]> accepted, long version) throws InterruptedException {
        long[] next = accepted.poll(ACCEPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (next == null || next[0] != version) {
            throw new IllegalStateException("expected the reader to accept version " + version + ", got "
                    + (next == null ? "nothing within " + ACCEPT_TIMEOUT : "version " + next[0]));
        }
        return next[1];
    }

    /** Nearest-rank percentile. */
    private static double pct(List<Double> values, double p) {
        List<Double> sorted = values.stream().sorted().toList();
        int rank = (int) Math.ceil(p * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    private static int arg(String[] args, int i, int fallback, int min) {
        if (args.length <= i) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(args[i]);
            if (value < min) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("usage: WeightTransferBenchmark [iterations-1MiB] [iterations-16MiB]"
                    + " [warm-up] [chunk-bytes], integers (warm-up may be 0); got '" + args[i] + "'");
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
