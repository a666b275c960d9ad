package io.rollout.deploy.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.actor.play.PlayerConfig;
import io.rollout.learner.scheduler.TaskDistribution;
import io.rollout.learner.trainer.SampleAssembler;
import io.rollout.learner.trainer.TrainerService;
import io.rollout.learner.trainer.UpdateStats;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LocalPipeline} on its own embedded broker with the tiny model: it trains a version,
 * no service fails, and closing it leaves none of its threads behind.
 */
class LocalPipelineTest {

    /**
     * JVM-wide threads a run may start on first use and that outlive it by design, among them
     * the meter ticks of Yammer's default registry, where the broker keeps its metrics.
     */
    private static final List<String> SHARED = List.of("ForkJoinPool.commonPool", "process reaper", "Attach Listener",
            "Common-Cleaner", "metrics-meter-tick-thread");

    @TempDir
    Path dir;

    @Test
    void shouldTrainAVersionAndLeaveNoThreadBehindWhenClosed() throws Exception {
        Path model = dir.resolve("model");
        TinyModels.write(model, TinyModelSpec.defaults(), TinyModels.defaultWords(), 5);
        LocalPipeline.Settings settings = LocalPipeline.Settings.defaults(dir.resolve("data"))
                .withPrefix("pipeline.")
                .withTasks(TaskDistribution.parse(List.of("env=sokoban,group-size=4,max-steps=8")))
                .withActors(1, 2)
                .withPlayers(id -> PlayerConfig.defaults(id, "compact").withSeed(7L))
                .withBatching(2, 1);
        Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
        Map<Long, Integer> updates = new ConcurrentHashMap<>();

        try (LocalPipeline pipeline = LocalPipeline.open(settings, model)) {
            assertThat(pipeline.trainer()).as("no learner before startTraining").isNull();
            assertThat(pipeline.urls()).containsOnlyKeys("broker", "env-service");
            pipeline.startTraining(new TrainerService.Listener() {
                @Override
                public void updated(long version, List<SampleAssembler.Group> groups, UpdateStats stats) {
                    updates.put(version, stats.samples());
                }
            });
            assertThat(pipeline.urls()).containsOnlyKeys("broker", "env-service", "advantage", "trainer", "actor-0");
            assertThat(pipeline.urls().values()).allSatisfy(url -> assertThat(url).startsWith("http://127.0.0.1:"));

            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
            // The listener hears of a version just after the trainer counts it.
            while (!updates.containsKey(1L) && pipeline.failure() == null && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertThat(pipeline.failure()).isNull();
            assertThat(pipeline.trainer().version()).as("version trained within 4 minutes").isGreaterThanOrEqualTo(1);
            assertThat(updates.get(1L)).as("samples of version 1").isPositive();

            pipeline.stopActorsAndTrainer();
            assertThat(pipeline.failure()).isNull();
            assertThat(pipeline.monitor().totals().steps()).as("steps the monitor saw").isPositive();
        }

        List<String> left = awaitThreadsEnded(before, 30);
        assertThat(left).as("threads of the pipeline still alive after close").isEmpty();
    }

    /** Names of threads started since {@code before} and alive after {@code seconds}, JVM-wide ones aside. */
    private static List<String> awaitThreadsEnded(Set<Thread> before, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            List<String> left = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.isAlive() && !before.contains(t))
                    .map(Thread::getName)
                    .filter(name -> SHARED.stream().noneMatch(name::startsWith))
                    .sorted().collect(Collectors.toList());
            if (left.isEmpty() || System.nanoTime() > deadline) {
                return left;
            }
            Thread.sleep(200);
        }
    }
}
