package io.rollout.deploy.monitoring;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Debian Prometheus package's binaries ({@code apt-get install prometheus}; {@code .ci/run}
 * installs it where missing), and the shipped monitoring files under {@code deploy/monitoring}.
 */
final class Promtool {

    /** deploy/monitoring, from the deploy module's directory (Maven's working directory for its tests). */
    static final Path MONITORING = Path.of("monitoring").toAbsolutePath();

    private Promtool() {}

    /** The path of a Prometheus binary, or a failure that says how to install it. */
    static Path binary(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new AssertionError(name + " is not on the PATH: the monitoring tests check the shipped rules and "
                + "configuration with the real Prometheus; install it with 'apt-get install prometheus' "
                + "(.ci/run does)");
    }

    /** What one run printed, standard output and error together, and its exit code. */
    record Result(int exit, String output) {}

    static Result run(Path workingDir, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(binary("promtool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(workingDir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("promtool " + String.join(" ", args) + " took over 60 s");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
