package io.rollout.deploy.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rollout faults}: the fault-injection run and its audit. */
@Command(
        name = "faults",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs the pipeline as separate processes on loopback (a broker, env-service, two advantage-app",
            "instances, the trainer with its scheduler, three actors) and injects faults spread over --minutes:",
            "SIGKILL and restart of every kind of process --kills-per-kind times (the broker on its data",
            "directory), SIGSTOP of the broker for --broker-pause, a restart of env-service, and bad records on",
            "every topic. Then it lets the run settle, stops the trainer and audits the topics and the trainer's",
            "log: every dispatched group trained once or given up with a reason or still open, no sample",
            "trained twice, versions strictly increasing, every actor on the newest version, the dead-letter",
            "topic holding only the injected records. Writes DIR/report.json; exit 0 when every check held,",
            "1 otherwise. Needs about 4 GB of memory; logs of each process in DIR/logs."
        })
public final class FaultCommand implements Callable<Integer> {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data/faults",
            description = "Working directory: broker data, checkpoints, logs, report.json (default: ${DEFAULT-VALUE}).")
    private Path dir;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the fault plan and of the run (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--minutes", defaultValue = "30", description = "Length of the fault phase (default: ${DEFAULT-VALUE}).")
    private double minutes;

    @Option(names = "--kills-per-kind", defaultValue = "3",
            description = "SIGKILLs of each kind of process (default: ${DEFAULT-VALUE}).")
    private int killsPerKind;

    @Option(names = "--broker-pause", defaultValue = "60s", description = "SIGSTOP of the broker (default: ${DEFAULT-VALUE}).")
    private Duration brokerPause;

    @Option(names = "--settle", defaultValue = "60s",
            description = "Quiet time after the last fault before the audit (default: ${DEFAULT-VALUE}).")
    private Duration settle;

    @Option(names = "--task-timeout", defaultValue = "120s",
            description = "The scheduler's task timeout, which re-queues groups lost to faults (default: ${DEFAULT-VALUE}).")
    private Duration taskTimeout;

    @Option(names = "--group-timeout", defaultValue = "60s",
            description = "The advantage app's group timeout (default: ${DEFAULT-VALUE}).")
    private Duration groupTimeout;

    @Override
    public Integer call() throws Exception {
        FaultRun.Settings settings = new FaultRun.Settings(dir, seed, Duration.ofMillis((long) (minutes * 60_000)),
                killsPerKind, brokerPause, settle, taskTimeout,
                groupTimeout);
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        Audit.Report report = new FaultRun(settings, out).run();
        write(report, dir.resolve("report.json"));
        out.println(summary(report));
        return report.ok() ? 0 : 1;
    }

    static void write(Audit.Report report, Path file) throws java.io.IOException {
        Files.writeString(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(report));
    }

    static String summary(Audit.Report report) {
        StringBuilder s = new StringBuilder();
        s.append("faults: ").append(report.faultsByKind()).append('\n');
        s.append("recovery: ").append(report.recoveryMs()).append('\n');
        s.append(report.checkLines());
        return s.toString();
    }
}
