package io.rollout.deploy.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Actors added and taken away mid-run, each a process: two actors, a third added, one stopped
 * with SIGTERM and one killed with SIGKILL while they play; then the audit: no dispatched
 * group lost, none trained twice. The benchmark is {@code rollout scale-out} (docs/benchmarks.md).
 */
class ScaleOutRunTest {

    @TempDir
    Path dir;

    @Test
    void shouldLoseNoTaskAndTrainNoneTwiceWhenActorsComeAndGo() throws Exception {
        ScaleOutRun.Settings settings = new ScaleOutRun.Settings(dir, 3, List.of(2, 3), Duration.ofSeconds(8), false,
                false, Duration.ofSeconds(15), 12, Duration.ofSeconds(60), true, 0, 2);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        ScaleOutRun.Report report = new ScaleOutRun(settings, out).run();
        ScaleOutCommand.write(report, dir.resolve("scale-out.json"));
        out.println(ScaleOutCommand.summary(report));

        assertThat(report.levels()).extracting(ScaleOutRun.Level::actors).containsExactly(2, 3);
        assertThat(report.levels()).allSatisfy(l -> assertThat(l.steps()).isPositive());
        assertThat(report.changes()).extracting(ScaleOutRun.Change::kind).containsExactly("add", "sigterm", "sigkill");
        assertThat(report.changes()).extracting(ScaleOutRun.Change::actorsAfter).containsExactly(3, 2, 1);
        assertThat(report.audit().counts().get("groups_trained")).isPositive();
        assertThat(report.audit().findings()).isEmpty();
        assertThat(report.audit().checks()).allSatisfy((check, held) -> assertThat(held).as(check).isTrue());
    }

    @Test
    void shouldCountStepsAndFindTheLongestGapInAWindow() {
        long[] steps = {100, 150, 160, 400, 410, 900};
        assertThat(ScaleOutRun.count(steps, 150, 410)).isEqualTo(3);
        assertThat(ScaleOutRun.count(steps, 0, 1000)).isEqualTo(6);
        assertThat(ScaleOutRun.longestGap(steps, 100, 420)).isEqualTo(240);
        // the ends count: nothing from the last step to the end of the window
        assertThat(ScaleOutRun.longestGap(steps, 400, 1500)).isEqualTo(600);
        assertThat(ScaleOutRun.longestGap(steps, 1000, 1200)).isEqualTo(200);
    }

    @Test
    void shouldRefuseCountsThatCannotStopOneAndKillAnother() {
        assertThatThrownBy(() -> new ScaleOutRun.Settings(dir, 1, List.of(1, 2), Duration.ofSeconds(1), false, false,
                Duration.ZERO, 8, Duration.ofSeconds(60), true, 0, 2)).hasMessageContaining("at least 3");
        assertThatThrownBy(() -> new ScaleOutRun.Settings(dir, 1, List.of(2, 2, 4), Duration.ofSeconds(1), false,
                false, Duration.ZERO, 8, Duration.ofSeconds(60), true, 0, 2)).hasMessageContaining("must increase");
        assertThatThrownBy(() -> new ScaleOutRun.Settings(dir, 1, List.of(1, 8), Duration.ofSeconds(1), false, false,
                Duration.ZERO, 8, Duration.ofSeconds(60), true, 0, 2)).hasMessageContaining("6 partitions");
        assertThatThrownBy(() -> new ScaleOutRun.Settings(dir, 1, List.of(1, 3), Duration.ofSeconds(1), false, false,
                Duration.ZERO, 8, Duration.ofSeconds(60), true, 0, 0)).hasMessageContaining("--groups-in-flight");
    }
}
