package io.rollout.deploy.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The short fault-injection run: every kind of process killed twice (the broker too), the
 * broker paused, env-service restarted, bad records on every topic; then the audit. The long
 * run is {@code rollout faults --minutes 30} (docs/reliability.md).
 */
class FaultRunTest {

    @TempDir
    Path dir;

    @Test
    void shouldLoseNothingAndTrainNothingTwiceUnderFaults() throws Exception {
        FaultRun.Settings settings = new FaultRun.Settings(dir, 7, Duration.ofMinutes(2), 2, Duration.ofSeconds(15),
                Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofSeconds(30));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        Audit.Report report = new FaultRun(settings, out).run();
        FaultCommand.write(report, dir.resolve("report.json"));
        out.println(FaultCommand.summary(report));
        assertThat(report.faultsByKind()).containsKeys("kill:broker", "kill:env_service", "kill:advantage",
                "kill:trainer", "kill:actor", "pause:broker", "restart:env_service", "inject:bad-records");
        assertThat(report.faultsByKind().get("kill:broker")).isEqualTo(2);
        assertThat(report.counts().get("groups_trained")).isPositive();
        assertThat(report.findings()).isEmpty();
        assertThat(report.checks()).allSatisfy((check, held) -> assertThat(held).as(check).isTrue());
    }
}
