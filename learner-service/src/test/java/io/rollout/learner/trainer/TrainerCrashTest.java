package io.rollout.learner.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.broker.SharedKafkaBroker;
import io.rollout.learner.cli.LearnerCommand;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.topics.TopicCatalog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer as its own process, killed with SIGKILL mid-run and restarted: the version
 * continues from the checkpoint, and every sample is in the trained history exactly once
 * (updates after the last checkpoint died with the process and are redone, not doubled).
 */
class TrainerCrashTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void shouldNeitherRetrainNorSkipASampleAcrossAKill() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-crash.").build();
        SampleFeed.createTopics(topics);
        Map<String, Integer> expected = new HashMap<>();
        List<TrainingSample> first = new ArrayList<>();
        List<TrainingSample> second = new ArrayList<>();
        for (int g = 0; g < 16; g++) {
            List<TrainingSample> group = SampleFeed.group("c" + g, 0, 3, 0, 100 + g);
            group.forEach(s -> expected.put(s.getGroupId() + "/" + s.getEpisode() + ":" + s.getT(), 1));
            (g < 10 ? first : second).addAll(group);
        }
        Path log = dir.resolve("trained.jsonl");

        Process trainer = start(topics, log, "first");
        try {
            SampleFeed.produce(topics, first);
            // Wait for an update after the checkpoint at version 2, then kill without warning.
            awaitLog(log, lines -> lastVersion(lines) >= 3, trainer);
        } finally {
            trainer.destroyForcibly().waitFor();
        }
        List<JsonNode> firstRun = read(log);
        long killedAt = lastVersion(firstRun);

        SampleFeed.produce(topics, second);
        Process restarted = start(topics, log, "second");
        try {
            awaitLog(log, lines -> trainedOnce(lines).size() >= expected.size(), restarted);
        } finally {
            restarted.destroy();
            restarted.waitFor();
        }
        List<JsonNode> all = read(log);
        JsonNode resume = all.stream().filter(l -> l.get("event").asText().equals("start")).skip(1).findFirst()
                .orElseThrow();
        long checkpoint = resume.get("checkpoint").asLong();
        assertThat(checkpoint).as("a checkpoint every 2 versions").isGreaterThanOrEqualTo(2).isLessThanOrEqualTo(killedAt);
        assertThat(resume.get("version").asLong()).as("numbering continues after what was published")
                .isEqualTo(killedAt);
        assertThat(trainedOnce(all)).isEqualTo(expected);
    }

    /**
     * SIGTERM in the middle of an update that takes minutes: the trainer abandons it, writes a
     * checkpoint of the last completed version (0) that resumes before the batch, and exits
     * within its stop timeout; the restarted trainer trains the batch.
     */
    @Test
    void shouldAbandonTheUpdateInProgressOnSigtermAndExitWithinTheStopTimeout() throws Exception {
        TopicCatalog topics = TopicCatalog.builder().prefix("it-sigterm.").build();
        SampleFeed.createTopics(topics);
        List<TrainingSample> batch = new ArrayList<>();
        for (int g = 0; g < 2; g++) {
            batch.addAll(SampleFeed.group("s" + g, 0, 3, 0, 200 + g));
        }
        Path log = dir.resolve("trained.jsonl");
        // 3000 epochs of single-sample passes: one update takes minutes, however fast the machine.
        List<String> slow = List.of("--ppo-epochs", "3000", "--micro-batch-size", "1", "--stop-timeout", "10s");
        Process trainer = start(topics, log, "first", "it-sigterm.", slow);
        long stoppedAfterMs;
        try {
            awaitLog(log, lines -> !lines.isEmpty(), trainer);
            SampleFeed.produce(topics, batch);
            Thread.sleep(4000);
            assertThat(lastVersion(read(log))).as("still in the first update").isZero();
            long t0 = System.nanoTime();
            trainer.destroy();
            boolean exited = trainer.waitFor(25, java.util.concurrent.TimeUnit.SECONDS);
            stoppedAfterMs = (System.nanoTime() - t0) / 1_000_000;
            assertThat(exited).as("exited within 25 s of SIGTERM; output:\n" + output()).isTrue();
        } finally {
            trainer.destroyForcibly().waitFor();
        }
        assertThat(stoppedAfterMs).isLessThan(15_000);
        assertThat(output()).contains("abandoned");
        Path checkpoints = dir.resolve("checkpoints");
        JsonNode ckpt;
        try (var dirs = Files.list(checkpoints)) {
            Path only = dirs.filter(p -> p.getFileName().toString().startsWith("ckpt-")).findFirst().orElseThrow();
            ckpt = JSON.readTree(only.resolve("checkpoint.json").toFile());
        }
        assertThat(ckpt.get("version").asLong()).isZero();
        ckpt.get("sampleOffsets").forEach(offset -> assertThat(offset.asLong()).as("resumes before the abandoned batch")
                .isZero());

        Process restarted = start(topics, log, "second", "it-sigterm.", List.of("--ppo-epochs", "1"));
        try {
            awaitLog(log, lines -> lastVersion(lines) >= 1, restarted);
        } finally {
            restarted.destroy();
            restarted.waitFor();
        }
        assertThat(trainedOnce(read(log))).hasSize(6);
    }

    /** Sample -> times trained, counting the first run only up to the checkpoint the second resumed from. */
    static Map<String, Integer> trainedOnce(List<JsonNode> lines) {
        Map<String, Integer> counts = new HashMap<>();
        List<List<JsonNode>> runs = new ArrayList<>();
        for (JsonNode l : lines) {
            if (l.get("event").asText().equals("start")) {
                runs.add(new ArrayList<>());
            }
            runs.get(runs.size() - 1).add(l);
        }
        for (int r = 0; r < runs.size(); r++) {
            long keepUpTo = r + 1 < runs.size() ? runs.get(r + 1).get(0).path("checkpoint").asLong(0) : Long.MAX_VALUE;
            for (JsonNode l : runs.get(r)) {
                // Updates after the checkpoint the next run resumed from died with this run.
                if (!l.get("event").asText().equals("version") || l.get("version").asLong() > keepUpTo) {
                    continue;
                }
                for (JsonNode g : l.get("groups")) {
                    for (JsonNode step : g.get("steps")) {
                        counts.merge(g.get("group").asText() + "/" + step.asText(), 1, Integer::sum);
                    }
                }
            }
        }
        return counts;
    }

    static long lastVersion(List<JsonNode> lines) {
        long v = 0;
        for (JsonNode l : lines) {
            if (l.get("event").asText().equals("version")) {
                v = l.get("version").asLong();
            }
        }
        return v;
    }

    Process start(TopicCatalog topics, Path log, String name) throws IOException {
        return start(topics, log, name, "it-crash.", List.of());
    }

    Process start(TopicCatalog topics, Path log, String name, String prefix, List<String> extra) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), LearnerCommand.class.getName(), "train",
                "--bootstrap", SharedKafkaBroker.bootstrapServers(), "--prefix", prefix,
                "--model", TinyModel.dir().toString(), "--checkpoint-dir", dir.resolve("checkpoints").toString(),
                "--checkpoint-every", "2", "--batch-groups", "2", "--mini-batch-size", "6", "--lora-rank", "4",
                "--max-staleness", "1000", "--no-scheduler", "--trained-log", log.toString(), "--metrics-port", "0"));
        cmd.addAll(extra);
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".out").toFile()).start();
    }

    void awaitLog(Path log, Predicate<List<JsonNode>> done, Process process) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log) && done.test(read(log))) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("trainer exited with " + process.exitValue() + ":\n" + output());
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out; log:\n" + (Files.exists(log) ? Files.readString(log) : "(none)")
                + "\noutput:\n" + output());
    }

    String output() throws IOException {
        StringBuilder out = new StringBuilder();
        for (String name : new String[] {"first.out", "second.out"}) {
            if (Files.exists(dir.resolve(name))) {
                out.append("--- ").append(name).append('\n').append(Files.readString(dir.resolve(name)));
            }
        }
        return out.toString();
    }

    static List<JsonNode> read(Path log) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            if (!line.isBlank()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }
}
