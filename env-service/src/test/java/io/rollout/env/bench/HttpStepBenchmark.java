package io.rollout.env.bench;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.StepResult;
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
 * HTTP steps per second against a real env-service on loopback: N client threads of one
 * {@link EnvClient}, one Sokoban session each, stepping as fast as the answers come
 * (resetting when an episode ends). Prints steps/s and the p50/p99/max step latency the
 * clients saw.
 *
 * <p>Args: [sessions=16] [warmupSeconds=20] [seconds=30] [url | "in-jvm"]. Without a url the
 * benchmark starts {@code env-service serve} as a child process, as it runs in production;
 * {@code in-jvm} runs the server inside this JVM instead. Run: see docs/benchmarks.md.
 */
public final class HttpStepBenchmark {

    private static final String[] ACTIONS = {"up", "right", "down", "left", "right", "up"};

    public static void main(String[] args) throws Exception {
        int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        String where = args.length > 3 ? args[3] : "process";

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
        try {
            EnvClient client = EnvClient.create(url, Duration.ofSeconds(2), Duration.ofSeconds(10));
            System.out.printf("server: %s (%s), warm-up %d s, measured %d s%n", url, where, warmup, seconds);
            AtomicBoolean measuring = new AtomicBoolean(false);
            AtomicBoolean running = new AtomicBoolean(true);
            List<long[]> perThread = new ArrayList<>();
            int[] counts = new int[sessions];
            CountDownLatch done = new CountDownLatch(sessions);
            List<Thread> threads = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                long[] latencies = new long[5_000_000 / sessions];
                perThread.add(latencies);
                int index = s;
                Thread t = new Thread(() -> {
                    try {
                        long seed = 1000L + index;
                        String id = client.createSession("sokoban", seed, Map.of()).session();
                        int n = 0;
                        int a = index;
                        while (running.get()) {
                            long start = System.nanoTime();
                            StepResult result = client.step(id, ACTIONS[a++ % ACTIONS.length]);
                            long took = System.nanoTime() - start;
                            if (result.done()) {
                                client.reset(id, ++seed, Map.of());
                            }
                            if (measuring.get() && n < latencies.length) {
                                latencies[n++] = took;
                            }
                        }
                        counts[index] = n;
                        client.closeSession(id);
                    } finally {
                        done.countDown();
                    }
                }, "bench-client-" + s);
                threads.add(t);
                t.start();
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
            for (int s = 0; s < sessions; s++) {
                System.arraycopy(perThread.get(s), 0, all, at, counts[s]);
                at += counts[s];
            }
            Arrays.sort(all);
            client.close();
            System.out.printf("sessions=%d seconds=%.1f steps=%d steps/s=%.0f p50=%.3fms p99=%.3fms max=%.3fms%n",
                    sessions, elapsed, total, total / elapsed, ms(all, 0.50), ms(all, 0.99), all[all.length - 1] / 1e6);
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
