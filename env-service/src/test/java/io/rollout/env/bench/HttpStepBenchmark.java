package io.rollout.env.bench;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.StepResult;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.cli.EnvServiceCommand;
import io.rollout.env.client.EnvClient;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * HTTP steps per second against a real env-service on loopback: client threads of one
 * {@link EnvClient}, each driving {@code batch} Sokoban sessions, stepping as fast as the
 * answers come (resetting a session when its episode ends). With {@code batch} 1 each step is
 * one {@code POST /v1/sessions/{id}/step}; above 1 a thread advances its sessions together
 * with one {@code POST /v1/steps} ({@link EnvClient#stepAll}). Prints steps/s and the
 * p50/p99/max step latency the clients saw; a batched step's latency is its request's.
 *
 * <p>Args: [sessions=16] [warmupSeconds=20] [seconds=30] [url | "process" | "in-jvm"]
 * [batch=1, or a comma-separated list run one after another]. With "process" (the default)
 * the benchmark starts {@code env-service serve} as a child process, as it runs in production;
 * {@code in-jvm} runs the server inside this JVM instead. Run: see docs/benchmarks.md.
 */
public final class HttpStepBenchmark {

    private static final String[] ACTIONS = {"up", "right", "down", "left", "right", "up"};

    public static void main(String[] args) throws Exception {
        int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        String where = args.length > 3 ? args[3] : "process";
        int[] batches = Arrays.stream((args.length > 4 ? args[4] : "1").split(",")).mapToInt(Integer::parseInt)
                .toArray();
        for (int batch : batches) {
            if (batch < 1 || sessions % batch != 0 || batch > StepBatchRequest.MAX_STEPS) {
                throw new IllegalArgumentException("batch " + batch + " must divide sessions " + sessions
                        + " and be at most " + StepBatchRequest.MAX_STEPS);
            }
        }

        EnvServer server = null;
        Process child = null;
        String url;
        if (where.startsWith("http")) {
            url = where;
        } else if (where.equals("process")) {
            child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx512m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), EnvServiceCommand.class.getName(),
                    "serve", "--port", "0").redirectError(ProcessBuilder.Redirect.INHERIT).start();
            url = listeningUrl(child);
        } else {
            SessionManager manager = new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 1024,
                    Duration.ofMinutes(10), System::nanoTime);
            server = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofSeconds(30)),
                    manager, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
            url = server.url();
        }
        try (EnvClient client = EnvClient.create(url, Duration.ofSeconds(2), Duration.ofSeconds(10))) {
            System.out.printf("server: %s (%s), warm-up %d s, measured %d s%n", url, where, warmup, seconds);
            for (int batch : batches) {
                run(client, sessions, batch, warmup, seconds);
            }
        } finally {
            if (server != null) {
                server.close();
            }
            if (child != null) {
                child.destroy();
                child.waitFor();
            }
        }
    }

    /** One measurement: sessions / batch threads, each stepping its batch of sessions until told to stop. */
    private static void run(EnvClient client, int sessions, int batch, int warmup, int seconds) throws Exception {
        int threads = sessions / batch;
        AtomicBoolean measuring = new AtomicBoolean(false);
        AtomicBoolean running = new AtomicBoolean(true);
        long[][] perThread = new long[threads][5_000_000 / threads];
        int[] counts = new int[threads];
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int index = t;
            Thread thread = new Thread(() -> {
                try {
                    counts[index] = drive(client, index * batch, batch, running, measuring, perThread[index]);
                } finally {
                    done.countDown();
                }
            }, "bench-client-" + t);
            thread.start();
        }
        Thread.sleep(warmup * 1000L);
        measuring.set(true);
        long start = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        measuring.set(false);
        double elapsed = (System.nanoTime() - start) / 1e9;
        running.set(false);
        done.await();

        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int at = 0;
        for (int t = 0; t < threads; t++) {
            System.arraycopy(perThread[t], 0, all, at, counts[t]);
            at += counts[t];
        }
        Arrays.sort(all);
        System.out.printf("sessions=%d batch=%d threads=%d seconds=%.1f steps=%d steps/s=%.0f p50=%.3fms p99=%.3fms "
                        + "max=%.3fms%n", sessions, batch, threads, elapsed, total, total / elapsed, ms(all, 0.50),
                ms(all, 0.99), all[all.length - 1] / 1e6);
    }

    /**
     * Steps sessions {@code first .. first + batch - 1} until {@code running} turns false; records each
     * step's latency while {@code measuring}; returns how many it recorded.
     */
    private static int drive(EnvClient client, int first, int batch, AtomicBoolean running, AtomicBoolean measuring,
            long[] latencies) {
        String[] ids = new String[batch];
        long[] seeds = new long[batch];
        int[] next = new int[batch];
        for (int i = 0; i < batch; i++) {
            seeds[i] = 1000L + first + i;
            next[i] = first + i;
            ids[i] = client.createSession("sokoban", seeds[i], Map.of()).session();
        }
        int n = 0;
        List<StepBatchRequest.Item> items = new ArrayList<>(batch);
        while (running.get()) {
            long start = System.nanoTime();
            List<StepResult> results = new ArrayList<>(batch);
            if (batch == 1) {
                results.add(client.step(ids[0], ACTIONS[next[0]++ % ACTIONS.length]));
            } else {
                items.clear();
                for (int i = 0; i < batch; i++) {
                    items.add(new StepBatchRequest.Item(ids[i], ACTIONS[next[i]++ % ACTIONS.length]));
                }
                client.stepAll(items).forEach(outcome -> results.add(outcome.resultOrThrow()));
            }
            long took = System.nanoTime() - start;
            for (int i = 0; i < batch; i++) {
                if (results.get(i).done()) {
                    client.reset(ids[i], ++seeds[i], Map.of());
                }
                if (measuring.get() && n < latencies.length) {
                    latencies[n++] = took;
                }
            }
        }
        for (String id : ids) {
            client.closeSession(id);
        }
        return n;
    }

    private static String listeningUrl(Process child) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            if (line.startsWith("listening=")) {
                return line.substring("listening=".length());
            }
        }
        throw new IllegalStateException("env-service exited without listening");
    }

    private static double ms(long[] sorted, double q) {
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
    }
}
