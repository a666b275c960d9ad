package io.rollout.deploy.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pure parts of the audit and the soak: the trainer-log reading and the growth slope. */
class AuditTest {

    @TempDir
    Path dir;

    /**
     * A run killed after version 3 resumed from its checkpoint at version 2: version 3 died with
     * the process, so its group counts once, from the second run.
     */
    @Test
    void shouldCountEachRunUpToTheCheckpointTheNextResumedFrom() throws Exception {
        Path log = dir.resolve("trained.jsonl");
        Files.write(log, List.of(
                "{\"event\":\"start\",\"version\":0,\"checkpoint\":null}",
                "{\"event\":\"version\",\"version\":1,\"groups\":[{\"group\":\"a\",\"attempt\":0,\"steps\":[\"0:0\",\"1:0\"]}]}",
                "{\"event\":\"version\",\"version\":2,\"groups\":[{\"group\":\"b\",\"attempt\":0,\"steps\":[\"0:0\"]}]}",
                "{\"event\":\"abandoned\",\"group\":\"x\",\"attempt\":5,\"reason\":\"given up\"}",
                "{\"event\":\"version\",\"version\":3,\"groups\":[{\"group\":\"c\",\"attempt\":0,\"steps\":[\"0:0\"]}]}",
                "{\"event\":\"discarded\",\"group\":\"y\",\"attempt\":0,\"reason\":\"stale\"}",
                "{\"event\":\"start\",\"version\":3,\"checkpoint\":2}",
                "{\"event\":\"version\",\"version\":4,\"groups\":[{\"group\":\"c\",\"attempt\":1,\"steps\":[\"0:0\"]}]}"));
        Audit.Trained t = Audit.Trained.read(log);
        assertThat(t.starts).isEqualTo(2);
        assertThat(t.versions).isEqualTo(3);
        assertThat(t.groups).containsOnlyKeys("a", "b", "c").allSatisfy((g, n) -> assertThat(n).isEqualTo(1));
        assertThat(t.samples).hasSize(4).allSatisfy((s, n) -> assertThat(n).isEqualTo(1));
        assertThat(t.abandoned).containsEntry("x", "given up");
        assertThat(t.discarded).as("after the checkpoint: died with the run").isEmpty();
    }

    @Test
    void shouldMeasureGrowthAsTheLeastSquaresSlopePerHour() {
        List<SoakRun.Sample> samples = List.of(new SoakRun.Sample("p", 0, 100, 10, 50, 1, 2),
                new SoakRun.Sample("p", 30, 110, 12, 55, 1, 2), new SoakRun.Sample("p", 60, 120, 11, 60, 1, 2));
        assertThat(SoakRun.slopePerHour(samples, SoakRun.Sample::rssMb)).isEqualTo(20.0);
        assertThat(SoakRun.slopePerHour(samples.subList(0, 2), SoakRun.Sample::rssMb)).isNaN();
        String metrics = "jvm_memory_used_bytes{area=\"heap\",id=\"eden\"} 1000000.0\n"
                + "jvm_memory_used_bytes{area=\"heap\",id=\"old\"} 2000000.0\n"
                + "jvm_memory_used_bytes{area=\"nonheap\",id=\"meta\"} 5000000.0\n";
        assertThat(SoakRun.sum(metrics, "jvm_memory_used_bytes", "area=\"heap\"")).isEqualTo(3_000_000.0);
        assertThat(SoakRun.max(metrics, "jvm_memory_used_bytes")).isEqualTo(5_000_000.0);
        assertThat(SoakRun.max(metrics, "kafka_stream_state_block_cache_usage")).isNaN();
        assertThat(Audit.percentile(new long[] {5, 1, 3, 2, 4}, 50)).isEqualTo(3);
        assertThat(Audit.percentile(new long[] {5, 1, 3, 2, 4}, 100)).isEqualTo(5);
        assertThat(FaultRun.hostile(io.rollout.records.Step.getClassSchema())).hasSize(15);
    }

    /** What a finding quotes of a process's log once the run's directory is gone. */
    @Test
    void shouldQuoteTheLastErrorLineOfAChildsLogOrElseItsLastLine() throws Exception {
        Path log = dir.resolve("advantage-1.log");
        Child child = new Child("advantage-1", Child.Kind.ADVANTAGE, "64m", true, 1, log, List.of());
        assertThat(child.lastError(100)).contains("unreadable");
        Files.write(log, List.of("10:00:00.000 INFO  [main] started", "10:00:01.000 INFO  [main] running"));
        assertThat(child.lastError(100)).isEqualTo("10:00:01.000 INFO  [main] running");
        Files.write(log, List.of("10:00:00.000 ERROR [main] Streams - first failure",
                "java.lang.IllegalStateException: advantage app not running after PT2M",
                "\tat io.rollout.Foo.bar(Foo.java:1)", "10:00:02.000 INFO  [main] stopping"));
        assertThat(child.lastError(100)).isEqualTo("java.lang.IllegalStateException: advantage app not running after PT2M");
        assertThat(child.lastError(10)).isEqualTo("java.lang." + "...");
        assertThat(child.exitCode()).as("never started").isEqualTo(-1);
    }
}
