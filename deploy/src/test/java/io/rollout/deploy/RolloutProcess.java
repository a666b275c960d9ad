package io.rollout.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@code rollout} command run as a child JVM from the test classpath, its standard output
 * and error in files, so a test can wait for a line, read what it printed and see its command
 * line as {@code ps} shows it.
 */
public final class RolloutProcess implements AutoCloseable {

    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private RolloutProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Starts {@code rollout ARGS} with heap {@code xmx}; output goes to {@code dir/NAME.out} and {@code .err}. */
    public static RolloutProcess start(Path dir, String name, String xmx, List<String> args) throws IOException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + xmx, "-XX:+UseSerialGC", "-cp", classpath, RolloutCommand.class.getName()));
        command.addAll(args);
        Files.createDirectories(dir);
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new RolloutProcess(process, out, err);
    }

    /** The rest of the first stdout line starting with {@code prefix}, waiting up to {@code timeout}. */
    public String awaitLine(String prefix, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> line = Files.readAllLines(stdout, StandardCharsets.UTF_8).stream()
                    .filter(l -> l.startsWith(prefix)).findFirst();
            if (line.isPresent()) {
                return line.get().substring(prefix.length());
            }
            if (!process.isAlive()) {
                break;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no '" + prefix + "' line within " + timeout + " (alive: " + process.isAlive()
                + ")\nstdout:\n" + stdout() + "\nstderr:\n" + stderr());
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the exit; its code. */
    public int waitFor(Duration timeout) throws Exception {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("still running after " + timeout + "\nstdout:\n" + stdout() + "\nstderr:\n" + stderr());
        }
        return process.exitValue();
    }

    /** The command line as {@code ps} shows it to every user of the machine. */
    String commandLine() throws IOException {
        Path proc = Path.of("/proc", Long.toString(process.pid()), "cmdline");
        if (Files.exists(proc)) {
            return new String(Files.readAllBytes(proc), StandardCharsets.UTF_8).replace('\0', ' ');
        }
        return process.info().commandLine().orElseThrow();
    }

    public String stdout() throws IOException {
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    public String stderr() throws IOException {
        return Files.readString(stderr, StandardCharsets.UTF_8);
    }

    /** SIGTERM, then SIGKILL if it has not exited within a minute. */
    @Override
    public void close() throws Exception {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }
}
