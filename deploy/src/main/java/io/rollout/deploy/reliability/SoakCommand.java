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

/** {@code rollout soak}: a long undisturbed run of the pipeline's processes with their memory recorded. */
@Command(
        name = "soak",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs the pipeline as separate processes on loopback (the same set as 'faults') for --length and "
                + "records each process's RSS, heap in use and native memory (RSS minus the JVM's committed heap "
                + "and non-heap), and the advantage apps' RocksDB memtables and block cache, every --every into "
                + "DIR/memory.csv, with a chart in DIR/memory.png.",
            "Prints and writes DIR/soak.json: each process's growth after --warmup in MB/hour (least-squares "
                + "slope) and peak RSS."
        })
public final class SoakCommand implements Callable<Integer> {

    @Option(names = "--dir", paramLabel = "DIR", defaultValue = "data/soak",
            description = "Working directory (default: ${DEFAULT-VALUE}).")
    private Path dir;

    @Option(names = "--length", defaultValue = "2h", description = "How long to run (default: ${DEFAULT-VALUE}).")
    private Duration length;

    @Option(names = "--every", defaultValue = "30s", description = "Sampling interval (default: ${DEFAULT-VALUE}).")
    private Duration every;

    @Option(names = "--warmup", defaultValue = "20m",
            description = "Samples before this are left out of the growth (default: ${DEFAULT-VALUE}).")
    private Duration warmup;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the run (default: ${DEFAULT-VALUE}).")
    private long seed;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        SoakRun.Report report = new SoakRun(dir, length, every, warmup, seed, out).run();
        String json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report);
        Files.writeString(dir.resolve("soak.json"), json);
        out.println(json);
        return 0;
    }
}
