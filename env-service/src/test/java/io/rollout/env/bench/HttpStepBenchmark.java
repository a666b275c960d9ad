package io.rollout.env.bench;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.StepResult;
import io.rollout.env.client.EnvClient;
import io.rollout.env.server.EnvRegistry;
import io.rollout.env.server.EnvServer;
import io.rollout.env.server.SessionManager;
import io.rollout.env.sokoban.SokobanFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * HTTP steps per second against a real env-service on loopback: N client threads, one
 * Sokoban session each, stepping as fast as the answers come (resetting when an episode
 * ends). Server and clients share this JVM and the machine's cores. Prints steps/s and
 * the p50/p99/max step latency seen by the clients.
 *
 * <p>Args: [sessions=16] [warmupSeconds=5] [seconds=20]. Run: see docs/benchmarks.md.
 */
public final class HttpStepBenchmark {

    private static final String[] ACTIONS = {"up", "right", "down", "left", "right", "up"};

    public static void main(String[] args) throws Exception {
        int sessions = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 20;

        SessionManager manager = new SessionManager(new EnvRegistry(List.of(new SokobanFactory())), 1024,
                Duration.ofMinutes(10), System::nanoTime);
        try (EnvServer server = EnvServer.start(new EnvServer.Options("127.0.0.1", 0, 65536, Duration.ofSeconds(30)),
                manager, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
            EnvClient client = EnvClient.create(server.url(), Duration.ofSeconds(2), Duration.ofSeconds(10));
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
            System.out.printf("sessions=%d seconds=%.1f steps=%d steps/s=%.0f p50=%.3fms p99=%.3fms max=%.3fms%n",
                    sessions, elapsed, total, total / elapsed, ms(all, 0.50), ms(all, 0.99), all[all.length - 1] / 1e6);
        }
    }

    private static double ms(long[] sorted, double q) {
        return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
    }
}
