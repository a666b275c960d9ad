package io.rollout.deploy.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.scheduler.SchedulerState;
import io.rollout.learner.trainer.TrainerCheckpoint;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Task;
import io.rollout.records.WeightManifest;
import io.rollout.runtime.kafka.KafkaSettings;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.topics.DeadLetters;
import io.rollout.schemas.topics.TopicCatalog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Checks a finished fault run against the topics and the trainer's log: every dispatched
 * group is trained once, or given up with a reason, or still open in the scheduler's final
 * state; no sample and no group is trained twice; published versions only go up; the
 * dead-letter topic holds the injected bad records and nothing else.
 */
final class Audit {

    /** A bad record the driver wrote. */
    record Injected(String topic, byte[] value) {}

    /** What the run did and what the audit found; {@link #ok()} when every check held. */
    record Report(Map<String, Integer> faultsByKind, List<FaultRun.Fault> faults, Map<String, Long> recoveryMs,
            Map<String, Long> counts, Map<String, Boolean> checks, List<String> findings,
            Map<String, Integer> restarts) {

        boolean ok() {
            return checks.values().stream().allMatch(Boolean::booleanValue);
        }

        /** The counts, a line per check, the findings and the verdict, for a run's summary. */
        String checkLines() {
            StringBuilder s = new StringBuilder();
            s.append("counts: ").append(counts).append('\n');
            for (Map.Entry<String, Boolean> c : checks.entrySet()) {
                s.append(c.getValue() ? "  ok    " : "  FAIL  ").append(c.getKey()).append('\n');
            }
            findings.forEach(f -> s.append("  finding: ").append(f).append('\n'));
            return s.append(ok() ? "audit passed" : "audit FAILED").toString();
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final java.util.Properties kafka;
    private final TopicCatalog topics;
    private final Path trainedLog;
    private final Path checkpoints;
    private final List<Injected> injected;

    Audit(java.util.Properties kafka, TopicCatalog topics, Path trainedLog, Path checkpoints, List<Injected> injected) {
        this.kafka = kafka;
        this.topics = topics;
        this.trainedLog = trainedLog;
        this.checkpoints = checkpoints;
        this.injected = injected;
    }

    /** The newest version whose manifest is on policy.weights, -1 if none. */
    long newestPublishedVersion() {
        return manifestVersions().stream().mapToLong(Long::longValue).max().orElse(-1);
    }

    private List<Long> manifestVersions() {
        List<Long> versions = new ArrayList<>();
        AvroSerde<org.apache.avro.specific.SpecificRecord> serde = AvroSerde.oneOf(WeightManifest.class,
                io.rollout.records.WeightChunk.class);
        readAll(topics.weights().name(), (tp, r) -> {
            if (r.value() == null) {
                return;
            }
            try {
                if (serde.deserialize(r.topic(), r.value()) instanceof WeightManifest m) {
                    versions.add(m.getVersion());
                }
            } catch (RuntimeException bad) {
                // an injected bad record: the readers skip it too
            }
        });
        return versions;
    }

    Report report(List<FaultRun.Fault> faults, boolean trainerStopped, Duration actorCatchUp,
            Map<String, Integer> restarts, List<String> unexpectedExits) throws IOException {
        List<String> findings = new ArrayList<>();
        Map<String, Long> counts = new LinkedHashMap<>();
        Map<String, Boolean> checks = new LinkedHashMap<>();

        // What the scheduler sent.
        Map<String, Set<Integer>> attempts = new TreeMap<>();
        AvroSerde<Task> tasks = AvroSerde.of(Task.class);
        readAll(topics.tasks().name(), (tp, r) -> {
            try {
                Task t = tasks.deserialize(r.topic(), r.value());
                attempts.computeIfAbsent(t.getGroupId().toString(), g -> new HashSet<>()).add(t.getAttempt());
            } catch (RuntimeException bad) {
                // injected
            }
        });
        counts.put("groups_dispatched", (long) attempts.size());
        counts.put("attempts_dispatched", attempts.values().stream().mapToLong(Set::size).sum());
        counts.put("groups_requeued", attempts.values().stream().filter(a -> a.size() > 1).count());
        Map<String, Long> drops = new TreeMap<>();
        AvroSerde<DroppedGroup> dropped = AvroSerde.of(DroppedGroup.class);
        readAll(topics.dropped().name(), (tp, r) -> {
            try {
                drops.merge("drops_" + dropped.deserialize(r.topic(), r.value()).getReason().name().toLowerCase(), 1L,
                        Long::sum);
            } catch (RuntimeException bad) {
                // injected
            }
        });
        counts.putAll(drops);

        // What the trainer did, counting each run up to the checkpoint the next one resumed from.
        Trained trained = Trained.read(trainedLog);
        counts.put("versions_trained", (long) trained.versions);
        counts.put("groups_trained", (long) trained.groups.size());
        counts.put("samples_trained", (long) trained.samples.size());
        counts.put("groups_abandoned", (long) trained.abandoned.size());
        counts.put("groups_discarded", (long) trained.discarded.size());
        counts.put("trainer_starts", (long) trained.starts);
        List<String> twice = trained.groups.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
                .toList();
        checks.put("no_group_trained_twice", twice.isEmpty());
        twice.stream().limit(10).forEach(g -> findings.add("group trained twice: " + g));
        List<String> samplesTwice = trained.samples.entrySet().stream().filter(e -> e.getValue() > 1)
                .map(Map.Entry::getKey).toList();
        checks.put("no_sample_trained_twice", samplesTwice.isEmpty());
        samplesTwice.stream().limit(10).forEach(s -> findings.add("sample trained twice: " + s));

        // Every group accounted for.
        Set<String> open = openAtEnd();
        counts.put("groups_open_at_end", (long) open.size());
        List<String> lost = new ArrayList<>();
        for (String g : attempts.keySet()) {
            boolean done = trained.groups.containsKey(g) || trained.abandoned.containsKey(g)
                    || trained.discarded.containsKey(g) || open.contains(g);
            if (!done) {
                lost.add(g);
            }
        }
        counts.put("groups_unaccounted", (long) lost.size());
        checks.put("every_group_trained_given_up_or_open", lost.isEmpty());
        lost.stream().limit(10).forEach(g -> findings.add("group neither trained, given up nor open: " + g
                + " (attempts " + attempts.get(g) + ")"));
        trained.abandoned.forEach((g, why) -> {
            if (why == null || why.isBlank()) {
                findings.add("group abandoned without a reason: " + g);
            }
        });

        // Versions only go up.
        List<Long> versions = manifestVersions();
        boolean increasing = true;
        for (int i = 1; i < versions.size(); i++) {
            if (versions.get(i) <= versions.get(i - 1)) {
                increasing = false;
                findings.add("policy.weights: version " + versions.get(i) + " after " + versions.get(i - 1));
            }
        }
        counts.put("versions_published", (long) versions.size());
        checks.put("versions_strictly_increasing", increasing);
        checks.put("actors_on_newest_version", actorCatchUp != null);
        if (actorCatchUp != null) {
            counts.put("actors_caught_up_ms", actorCatchUp.toMillis());
        } else {
            findings.add("not every actor reported version " + newestPublishedVersion() + " within 90 s");
        }

        // Dead letters: the injected ones, nothing else.
        List<Injected> expected = new ArrayList<>(injected.stream()
                .filter(i -> !i.topic().equals(topics.weights().name()) && !i.topic().equals(topics.dropped().name()))
                .toList());
        List<String> unexpected = new ArrayList<>();
        long[] letters = {0};
        readAll(topics.dlq().name(), (tp, r) -> {
            letters[0]++;
            String source = DeadLetters.text(r.headers(), DeadLetters.SOURCE_TOPIC);
            Injected match = expected.stream().filter(i -> i.topic().equals(source)
                    && Arrays.equals(i.value(), r.value())).findFirst().orElse(null);
            if (match != null) {
                expected.remove(match);
            } else if (injected.stream().noneMatch(i -> i.topic().equals(source) && Arrays.equals(i.value(), r.value()))) {
                unexpected.add(source + "@" + DeadLetters.text(r.headers(), DeadLetters.SOURCE_OFFSET) + " "
                        + DeadLetters.text(r.headers(), DeadLetters.REASON) + ": "
                        + DeadLetters.text(r.headers(), DeadLetters.ERROR));
            }
        });
        counts.put("bad_records_injected", (long) injected.size());
        counts.put("dead_letters", letters[0]);
        checks.put("dlq_holds_only_injected_records", unexpected.isEmpty());
        checks.put("every_injected_record_dead_lettered_or_skipped", expected.isEmpty());
        unexpected.stream().limit(10).forEach(u -> findings.add("unexpected dead letter: " + u));
        expected.forEach(e -> findings.add("injected record on " + e.topic() + " not dead-lettered"));

        checks.put("trainer_stopped_on_sigterm", trainerStopped);
        checks.put("no_process_exited_by_itself", unexpectedExits.isEmpty());
        unexpectedExits.forEach(e -> findings.add("exited by itself: " + e));

        Map<String, Integer> byKind = new TreeMap<>();
        faults.forEach(f -> byKind.merge(f.kind(), 1, Integer::sum));
        Map<String, Long> recovery = new LinkedHashMap<>();
        recovery.put("healthy_p50_ms", percentile(faults.stream().mapToLong(FaultRun.Fault::healthyAfterMs)
                .filter(v -> v >= 0).toArray(), 50));
        recovery.put("healthy_max_ms", percentile(faults.stream().mapToLong(FaultRun.Fault::healthyAfterMs)
                .filter(v -> v >= 0).toArray(), 100));
        recovery.put("progress_p50_ms", percentile(faults.stream().mapToLong(FaultRun.Fault::progressAfterMs)
                .filter(v -> v >= 0).toArray(), 50));
        recovery.put("progress_max_ms", percentile(faults.stream().mapToLong(FaultRun.Fault::progressAfterMs)
                .filter(v -> v >= 0).toArray(), 100));
        long stalled = faults.stream().filter(f -> f.progressAfterMs() < 0).count();
        checks.put("training_resumed_after_every_fault", stalled == 0);
        if (stalled > 0) {
            findings.add(stalled + " faults after which no new version came within 3 minutes: " + faults.stream()
                    .filter(f -> f.progressAfterMs() < 0)
                    .map(f -> f.kind() + " of " + f.target() + " at " + f.atMs() / 1000 + " s; last errors: "
                            + f.stalled()).toList());
        }
        return new Report(byKind, faults, recovery, counts, checks, findings, restarts);
    }

    static long percentile(long[] values, int p) {
        if (values.length == 0) {
            return -1;
        }
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** Groups in flight or waiting for a re-queue in the scheduler state of the final checkpoint. */
    private Set<String> openAtEnd() {
        Set<String> open = new HashSet<>();
        CheckpointStore store = new CheckpointStore(checkpoints, Integer.MAX_VALUE);
        store.latest().ifPresent(dir -> {
            TrainerCheckpoint ckpt = TrainerCheckpoint.read(dir);
            if (ckpt.scheduler() != null) {
                SchedulerState state = ckpt.scheduler().state();
                state.inFlight().forEach(g -> open.add(g.groupId()));
                state.pending().forEach(g -> open.add(g.groupId()));
            }
        });
        return open;
    }

    void readAll(String topic, BiConsumer<TopicPartition, ConsumerRecord<byte[], byte[]>> each) {
        java.util.Properties p = KafkaSettings.copy(kafka);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).sorted(java.util.Comparator
                            .comparingInt(TopicPartition::partition)).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    each.accept(new TopicPartition(r.topic(), r.partition()), r);
                }
            }
        }
    }

    /** The trainer's --trained-log, each run counted up to the checkpoint the next run resumed from. */
    static final class Trained {
        final Map<String, Integer> groups = new HashMap<>();
        final Map<String, Integer> samples = new HashMap<>();
        final Map<String, String> abandoned = new HashMap<>();
        final Map<String, String> discarded = new HashMap<>();
        int versions;
        int starts;

        static Trained read(Path log) throws IOException {
            List<List<JsonNode>> runs = new ArrayList<>();
            for (String line : Files.readAllLines(log)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode l = JSON.readTree(line);
                if (l.get("event").asText().equals("start") || runs.isEmpty()) {
                    runs.add(new ArrayList<>());
                }
                runs.get(runs.size() - 1).add(l);
            }
            Trained t = new Trained();
            t.starts = runs.size();
            for (int r = 0; r < runs.size(); r++) {
                long keepUpTo = r + 1 < runs.size() ? runs.get(r + 1).get(0).path("checkpoint").asLong(0)
                        : Long.MAX_VALUE;
                long version = runs.get(r).get(0).path("version").asLong(0);
                for (JsonNode l : runs.get(r)) {
                    String event = l.get("event").asText();
                    if (event.equals("version")) {
                        version = l.get("version").asLong();
                        if (version > keepUpTo) {
                            continue;
                        }
                        t.versions++;
                        for (JsonNode g : l.get("groups")) {
                            String id = g.get("group").asText();
                            t.groups.merge(id, 1, Integer::sum);
                            for (JsonNode step : g.get("steps")) {
                                t.samples.merge(id + "/" + step.asText(), 1, Integer::sum);
                            }
                        }
                    } else if ((event.equals("abandoned") || event.equals("discarded")) && version <= keepUpTo) {
                        (event.equals("abandoned") ? t.abandoned : t.discarded).put(l.get("group").asText(),
                                l.path("reason").asText());
                    }
                }
            }
            return t;
        }
    }
}
