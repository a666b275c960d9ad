package io.rollout.deploy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code rollout broker} run as a child JVM, the way an operator runs it: the test reads
 * its metrics and bootstrap lines from standard output and stops it with SIGTERM. Its
 * {@code /metrics} takes a free port and reads offsets every half second, so that tests see
 * lag soon.
 */
final class BrokerProcess implements AutoCloseable {

    private final Process process;
    private final String bootstrap;
    private final String metrics;
    private final Path stderr;

    private BrokerProcess(Process process, String bootstrap, String metrics, Path stderr) {
        this.process = process;
        this.bootstrap = bootstrap;
        this.metrics = metrics;
        this.stderr = stderr;
    }

    static BrokerProcess start(Path dataDir, int port) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path stderr = Files.createTempFile("broker-", ".stderr");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-XX:+UseSerialGC", "-cp", classpath, RolloutCommand.class.getName(),
                "broker", "--data-dir", dataDir.toString(), "--port", Integer.toString(port),
                "--metrics-port", "0", "--metrics-interval", "500ms"));
        Process process = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> metricsLine = new CompletableFuture<>();
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                for (String l = out.readLine(); l != null; l = out.readLine()) {
                    if (l.startsWith("metrics=")) {
                        metricsLine.complete(l.substring("metrics=".length()));
                    }
                    if (l.startsWith("bootstrap=")) {
                        return l.substring("bootstrap=".length());
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        });
        String bootstrap;
        try {
            bootstrap = line.get(90, TimeUnit.SECONDS);
        } catch (Exception e) {
            bootstrap = null;
        }
        if (bootstrap == null || !metricsLine.isDone()) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("broker printed no " + (bootstrap == null ? "bootstrap" : "metrics")
                    + " line; stderr:\n" + Files.readString(stderr));
        }
        return new BrokerProcess(process, bootstrap, metricsLine.join(), stderr);
    }

    String bootstrap() {
        return bootstrap;
    }

    /** The base URL of {@code /metrics} and {@code /health}, e.g. {@code http://127.0.0.1:41239}. */
    String metrics() {
        return metrics;
    }

    int port() {
        return Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
    }

    /** Sends SIGTERM and waits; returns how long the broker took to exit. */
    Duration terminate() throws InterruptedException {
        long start = System.nanoTime();
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("broker did not stop within 60 s of SIGTERM");
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    String stderr() throws IOException {
        return Files.readString(stderr);
    }

    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            terminate();
        }
        Files.deleteIfExists(stderr);
    }
}
