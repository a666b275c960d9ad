package io.rollout.deploy.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rollout scale-out}: actors added and taken away while the pipeline runs, timed and audited. */
@Command(
        name = "scale-out",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs the pipeline as separate processes on loopback (a broker, env-service, one advantage app, the "
                + "trainer with its scheduler) with the first of --actors actor processes and counts steps/s for "
                + "--window; then adds actors up to each next count and counts again. At the largest count it kills "
                + "an actor and starts it again (--restart), stops one with SIGTERM and kills another with SIGKILL.",
            "Each change is timed: how long the actors' consumer group was not Stable, when it was Stable again "
                + "with every task partition assigned, and the longest stretch without a step around it. Then it "
                + "stops the trainer and audits the topics and the trainer's log: every dispatched group trained "
                + "once, given up with a reason or still open; no sample trained twice.",
            "Writes DIR/scale-out.json; exit 0 when every check held, 1 otherwise. Logs of each process in DIR/logs."
        })
public final class ScaleOutCommand implements Callable<Integer> {

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data/scale-out",
            description = "Working directory: broker data, checkpoints, logs, scale-out.json "
                    + "(default: ${DEFAULT-VALUE}).")
    private Path dir;

    @Option(names = "--actors", split = ",", defaultValue = "1,2,4", paramLabel = "N",
            description = "Actor counts to measure, increasing, the largest 3 to 6 (default: ${DEFAULT-VALUE}).")
    private List<Integer> actors;

    @Option(names = "--window", defaultValue = "60s",
            description = "How long steps are counted at each count (default: ${DEFAULT-VALUE}).")
    private Duration window;

    @Option(names = "--restart", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Kill an actor and start it again at once at the largest count (default: ${DEFAULT-VALUE}).")
    private boolean restart;

    @Option(names = "--static-membership", defaultValue = "false",
            description = "Actors join with group.instance.id = their id, so a restart within the session timeout "
                    + "(6 s here) causes no rebalance (default: ${DEFAULT-VALUE}).")
    private boolean staticMembership;

    @Option(names = "--settle", defaultValue = "30s",
            description = "Quiet time after the last change before the audit (default: ${DEFAULT-VALUE}).")
    private Duration settle;

    @Option(names = "--max-in-flight", defaultValue = "400",
            description = "The scheduler's groups in flight. The trainer, on the same cores, trains fewer groups per "
                    + "second than the actors play, so a small bound would measure the trainer, not the actors "
                    + "(default: ${DEFAULT-VALUE}).")
    private int maxInFlight;

    @Option(names = "--task-timeout", defaultValue = "15m",
            description = "The scheduler's task timeout: longer than a task waits in the backlog, so none is "
                    + "re-queued for waiting (default: ${DEFAULT-VALUE}).")
    private Duration taskTimeout;

    @Option(names = "--torch-threads", defaultValue = "0",
            description = "PyTorch's intra-op threads in each actor and the trainer (ai.djl.pytorch.num_threads); 0 "
                    + "keeps the engine's default, every core of the machine in each process (default: "
                    + "${DEFAULT-VALUE}).")
    private int torchThreads;

    @Option(names = "--groups-in-flight", defaultValue = "2",
            description = "Groups each actor plays at once; their sequences share the actor's decode batch "
                    + "(default: ${DEFAULT-VALUE}).")
    private int groupsInFlight;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the run (default: ${DEFAULT-VALUE}).")
    private long seed;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ScaleOutRun.Settings settings;
        try {
            settings = new ScaleOutRun.Settings(dir, seed, actors, window, restart, staticMembership, settle,
                    maxInFlight, taskTimeout, false, torchThreads, groupsInFlight);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        ScaleOutRun.Report report = new ScaleOutRun(settings, out).run();
        write(report, dir.resolve("scale-out.json"));
        out.println(summary(report));
        return report.ok() ? 0 : 1;
    }

    static void write(ScaleOutRun.Report report, Path file) throws java.io.IOException {
        Files.writeString(file, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValueAsString(report));
    }

    static String summary(ScaleOutRun.Report report) {
        StringBuilder s = new StringBuilder();
        s.append(report.staticMembership() ? "static membership\n" : "dynamic membership\n");
        for (ScaleOutRun.Level l : report.levels()) {
            s.append(String.format("%d actors: %.1f steps/s (%d steps in %.1f s)%n", l.actors(), l.stepsPerSecond(),
                    l.steps(), l.seconds()));
        }
        for (ScaleOutRun.Change c : report.changes()) {
            s.append(String.format("%-8s %-18s -> %d actors: not Stable %5d ms, settled %6d ms, longest step gap "
                    + "%5d ms (steady %d ms)%s%n", c.kind(), c.actors(), c.actorsAfter(), c.unstableMs(),
                    c.settledMs(), c.longestStepGapMs(), c.baselineGapMs(),
                    c.exitedOnSigterm() == null ? "" : c.exitedOnSigterm() ? ", exited on SIGTERM"
                            : ", needed SIGKILL"));
        }
        s.append(report.audit().checkLines());
        return s.toString();
    }

}
