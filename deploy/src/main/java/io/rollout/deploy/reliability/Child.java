package io.rollout.deploy.reliability;

import io.rollout.deploy.RolloutCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One service of the fault run: a child JVM running a {@code rollout} subcommand, started
 * again with the same arguments (ports, data directories) after each fault, its output
 * appended to one log file.
 */
final class Child {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final String name;
    final Kind kind;
    private final List<String> args;
    private final String heap;
    private final boolean quickStart;
    private final List<String> jvmOptions;
    private final Path log;
    /** The port that says whether the service is up: /health there, or a TCP accept for the broker. */
    final int healthPort;
    private Process process;
    private int starts;

    enum Kind { BROKER, ENV_SERVICE, ADVANTAGE, TRAINER, ACTOR }

    /**
     * @param quickStart whether the JVM stops at the C1 compiler, which starts and restarts
     *     faster on few cores but runs long loops slower
     */
    Child(String name, Kind kind, String heap, boolean quickStart, int healthPort, Path log, List<String> args) {
        this(name, kind, heap, quickStart, List.of(), healthPort, log, args);
    }

    /** @param jvmOptions more options of the java command, e.g. system properties */
    Child(String name, Kind kind, String heap, boolean quickStart, List<String> jvmOptions, int healthPort, Path log,
            List<String> args) {
        this.name = name;
        this.kind = kind;
        this.heap = heap;
        this.quickStart = quickStart;
        this.jvmOptions = List.copyOf(jvmOptions);
        this.healthPort = healthPort;
        this.log = log;
        this.args = List.copyOf(args);
    }

    synchronized void start() throws IOException {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is running");
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx" + heap, "-XX:+UseSerialGC"));
        if (quickStart) {
            command.add("-XX:TieredStopAtLevel=1");
        }
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classpath(), RolloutCommand.class.getName()));
        command.addAll(args);
        process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        starts++;
    }

    /** The class path of this JVM: the test class path under Surefire, else rollout.jar. */
    static String classpath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** The last {@code lines} lines of its log (all its starts append to one file), for a report. */
    String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(log " + log + " unreadable: " + e + ")";
        }
    }

    /**
     * What the log says of why the process ended: its last line with ERROR or an exception in
     * it (else its last line), cut to {@code max} characters; for a finding, where the whole
     * log is gone with the run's directory.
     */
    String lastError(int max) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            String found = "";
            for (int i = all.size() - 1; i >= 0 && found.isEmpty(); i--) {
                String line = all.get(i);
                if (line.contains(" ERROR ") || line.contains("Exception") || line.contains("Error:")) {
                    found = line.strip();
                }
            }
            if (found.isEmpty() && !all.isEmpty()) {
                found = all.get(all.size() - 1).strip();
            }
            return found.length() <= max ? found : found.substring(0, max) + "...";
        } catch (IOException | UncheckedIOException e) {
            return "(log " + log + " unreadable: " + e + ")";
        }
    }

    /** The exit code of the last run, or -1 while it runs or before it started. */
    synchronized int exitCode() {
        return process == null || process.isAlive() ? -1 : process.exitValue();
    }

    synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    synchronized long pid() {
        return process.pid();
    }

    int starts() {
        return starts;
    }

    /** SIGKILL, and wait until the process is gone. */
    void kill() throws InterruptedException {
        Process p;
        synchronized (this) {
            p = process;
        }
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM; SIGKILL if it has not exited within {@code grace}. Returns whether it exited by itself. */
    boolean terminate(Duration grace) throws InterruptedException {
        Process p;
        synchronized (this) {
            p = process;
        }
        if (p == null || !p.isAlive()) {
            return true;
        }
        p.destroy();
        if (p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        return false;
    }

    /** SIGSTOP or SIGCONT. */
    void signal(String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IOException("kill -" + signal + " " + pid() + " failed");
        }
    }

    boolean healthy() {
        return answers("/health");
    }

    /** Whether it answers 200 on {@code /ready}: for an actor, it has joined its group and takes tasks. */
    boolean ready() {
        return answers("/ready");
    }

    private boolean answers(String path) {
        if (!alive()) {
            return false;
        }
        if (kind == Kind.BROKER) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", healthPort), 1000);
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        try {
            HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + healthPort
                    + path)).timeout(Duration.ofSeconds(3)).build(), HttpResponse.BodyHandlers.discarding());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** GET /metrics of a service, or null when it does not answer. */
    String metrics() {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + healthPort
                    + "/metrics")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The value of an unlabelled gauge in Prometheus text, or NaN. */
    static double gauge(String metrics, String name) {
        if (metrics == null) {
            return Double.NaN;
        }
        for (String line : metrics.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }

    @Override
    public String toString() {
        return name;
    }
}
