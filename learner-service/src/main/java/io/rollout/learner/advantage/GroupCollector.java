package io.rollout.learner.advantage;

import io.rollout.learner.gigpo.Gigpo;
import io.rollout.learner.gigpo.GigpoResult;
import io.rollout.learner.gigpo.GigpoRow;
import io.rollout.records.DropReason;
import io.rollout.records.DroppedGroup;
import io.rollout.records.Step;
import io.rollout.records.TerminalReason;
import io.rollout.records.TrainingSample;
import io.rollout.schemas.Limits;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.serde.UndecodableRecordException;
import io.rollout.schemas.topics.DeadLetters;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps each group's steps until all its episodes are done, then writes one training
 * sample per step with its GiGPO advantages and forgets the group. Groups that time out
 * or in which an episode hit an infrastructure error are dropped whole and announced on
 * the dropped topic; bad records go to the dead-letter topic. Steps of an older attempt,
 * duplicates and steps of finished groups are counted and ignored.
 *
 * <p>The timeout is measured in stream time: a group is dropped once a step produced
 * {@code groupTimeout} after its first step (by the record timestamps the actors set) has
 * been read and the group is still incomplete. After an outage of the broker or of this app,
 * the backlog is read in order, so a group whose steps wait in it is completed, not dropped;
 * a partition that receives nothing keeps its groups open, and the scheduler's task timeout
 * re-queues them. The check itself runs on a wall-clock punctuator.
 *
 * <p>Which step a group takes in (attempts, duplicates, finished groups) is decided by
 * {@link Admission}; this processor reads the group's state for it and acts on the outcome.
 */
final class GroupCollector implements Processor<byte[], byte[], Object, Object> {

    private static final Logger LOG = LoggerFactory.getLogger(GroupCollector.class);
    /** More episodes than this in one group is taken for a corrupt record. */
    static final int MAX_GROUP_SIZE = Limits.MAX_GROUP_SIZE;
    /**
     * A step index above this is taken for a corrupt record: a group keeps a bit per step index
     * seen, so an index of two billion would cost 256 MB of state.
     */
    static final int MAX_STEP_INDEX = Limits.MAX_STEP_INDEX;
    private static final StringSerializer KEYS = new StringSerializer();

    private final AdvantageConfig config;
    private final AdvantageMetrics metrics;
    private final AvroSerde<Step> stepSerde = AvroSerde.of(Step.class);
    private final String service;
    private ProcessorContext<Object, Object> context;
    private KeyValueStore<String, GroupState> groups;
    private KeyValueStore<String, byte[]> steps;
    private KeyValueStore<String, byte[]> finished;
    private String task;
    private long open;
    private long stored;

    GroupCollector(AdvantageConfig config, AdvantageMetrics metrics, String service) {
        this.config = config;
        this.metrics = metrics;
        this.service = service;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.groups = context.getStateStore(AdvantageTopology.GROUPS_STORE);
        this.steps = context.getStateStore(AdvantageTopology.STEPS_STORE);
        this.finished = context.getStateStore(AdvantageTopology.FINISHED_STORE);
        this.task = context.taskId().toString();
        try (KeyValueIterator<String, GroupState> it = groups.all()) {
            while (it.hasNext()) {
                open++;
                stored += it.next().value.stepCount();
            }
        }
        metrics.taskGauges(task, open, stored);
        context.schedule(config.timeoutCheckInterval(), PunctuationType.WALL_CLOCK_TIME, this::dropTimedOut);
        java.time.Duration sweep = config.finishedRetention().dividedBy(10);
        context.schedule(sweep.compareTo(config.timeoutCheckInterval()) < 0 ? config.timeoutCheckInterval() : sweep,
                PunctuationType.WALL_CLOCK_TIME, this::forgetFinished);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        Step step;
        try {
            step = record.value() == null ? null : stepSerde.deserialize(sourceTopic(), record.value());
        } catch (UndecodableRecordException e) {
            deadLetter(record, e.reason().name(), e.getMessage());
            return;
        } catch (SerializationException e) {
            deadLetter(record, UndecodableRecordException.Reason.CORRUPT.name(), e.getMessage());
            return;
        }
        if (step == null) {
            deadLetter(record, DeadLetters.EMPTY, "a record without a value");
            return;
        }
        String problem = invalid(record.key(), step);
        if (problem != null) {
            deadLetter(record, DeadLetters.INVALID, problem);
            return;
        }
        String groupId = step.getGroupId().toString();
        GroupState state = groups.get(groupId);
        FinishedMark mark = Admission.needsFinishedMark(step.getAttempt(), state) ? finishedMark(groupId) : null;
        switch (Admission.decide(step, state, mark)) {
            case LATE -> metrics.step(AdvantageMetrics.StepOutcome.LATE);
            case STALE_ATTEMPT -> metrics.step(AdvantageMetrics.StepOutcome.STALE_ATTEMPT);
            case DUPLICATE -> metrics.step(AdvantageMetrics.StepOutcome.DUPLICATE);
            case SIZE_MISMATCH -> deadLetter(record, DeadLetters.INVALID, "group size " + step.getGroupSize()
                    + " disagrees with " + state.groupSize + " of the group's earlier steps");
            case CONFLICT -> deadLetter(record, DeadLetters.INVALID,
                    state.conflict(step.getEpisode(), step.getT(), step.getDone()));
            case SUPERSEDE -> {
                LOG.info("group {}: attempt {} replaces the unfinished attempt {}", groupId, step.getAttempt(),
                        state.attempt);
                forget(groupId, state);
                metrics.dropped(AdvantageMetrics.SUPERSEDED);
                accept(record, step, null);
            }
            case OPEN -> accept(record, step, null);
            case ACCEPT -> accept(record, step, state);
        }
    }

    /** Stores an admitted step in its group, opening the group if {@code state} is null, and finishes it if due. */
    private void accept(Record<byte[], byte[]> record, Step step, GroupState state) {
        String groupId = step.getGroupId().toString();
        if (state == null) {
            state = GroupState.open(step.getAttempt(), step.getGroupSize(), record.timestamp());
            open++;
        }
        steps.put(StepKeys.of(groupId, step.getAttempt(), step.getEpisode(), step.getT()), record.value());
        stored++;
        state.add(step.getEpisode(), step.getT(), step.getDone());
        metrics.step(AdvantageMetrics.StepOutcome.ACCEPTED);
        if (step.getDone() && step.getTerminalReason() == TerminalReason.INFRA_ERROR) {
            drop(groupId, state, DropReason.INFRA_ERROR);
        } else if (state.complete()) {
            complete(groupId, state, record.timestamp());
        } else {
            groups.put(groupId, state);
        }
        metrics.taskGauges(task, open, stored);
    }

    /** Why a decoded step cannot be processed, or null. */
    private static String invalid(byte[] key, Step s) {
        String groupId = s.getGroupId().toString();
        if (key == null || !groupId.equals(new String(key, StandardCharsets.UTF_8))) {
            return "record key " + (key == null ? "null" : "'" + new String(key, StandardCharsets.UTF_8) + "'")
                    + " is not the step's group id '" + groupId + "' (steps must be keyed by group id)";
        }
        if (groupId.isEmpty() || groupId.indexOf(StepKeys.SEPARATOR) >= 0) {
            return "group id is empty or contains a NUL character";
        }
        if (s.getGroupSize() < 1 || s.getGroupSize() > MAX_GROUP_SIZE) {
            return "group size " + s.getGroupSize() + " is outside 1.." + MAX_GROUP_SIZE;
        }
        if (s.getEpisode() < 0 || s.getEpisode() >= s.getGroupSize()) {
            return "episode " + s.getEpisode() + " is outside 0.." + (s.getGroupSize() - 1);
        }
        if (s.getT() < 0 || s.getAttempt() < 0) {
            return "negative step index or attempt";
        }
        if (s.getT() > MAX_STEP_INDEX) {
            return "step index " + s.getT() + " is above " + MAX_STEP_INDEX;
        }
        if (!Float.isFinite(s.getReward())) {
            return "reward " + s.getReward() + " is not a finite number";
        }
        return null;
    }

    private void complete(String groupId, GroupState state, long lastStepTimestamp) {
        List<String> keys = new ArrayList<>();
        List<Step> rows = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = steps.prefixScan(StepKeys.prefix(groupId, state.attempt), KEYS)) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                keys.add(kv.key);
                rows.add(stepSerde.deserialize(sourceTopic(), kv.value));
            }
        }
        List<GigpoRow> input = new ArrayList<>(rows.size());
        for (Step s : rows) {
            input.add(new GigpoRow(Integer.toString(s.getEpisode()), s.getT(), s.getAnchor().toString(), s.getReward(),
                    s.getValid()));
        }
        List<GigpoResult> results;
        try {
            results = Gigpo.compute(input, config.gigpo());
        } catch (IllegalArgumentException e) {
            LOG.error("group {} attempt {}: cannot compute advantages, dropping it: {}", groupId, state.attempt,
                    e.getMessage());
            drop(groupId, state, DropReason.UNKNOWN);
            return;
        }
        Map<Integer, Integer> anchorGroups = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            Step s = rows.get(i);
            GigpoResult r = results.get(i);
            anchorGroups.put(r.anchorGroup(), r.anchorGroupSize());
            TrainingSample sample = TrainingSample.newBuilder()
                    .setGroupId(groupId)
                    .setEpisode(s.getEpisode())
                    .setAttempt(s.getAttempt())
                    .setT(s.getT())
                    .setPromptTokens(s.getPromptTokens())
                    .setResponseTokens(s.getResponseTokens())
                    .setOldLogProbs(s.getOldLogProbs())
                    .setEpisodeAdvantage((float) r.episodeAdvantage())
                    .setStepAdvantage((float) r.stepAdvantage())
                    .setAdvantage((float) r.advantage())
                    .setAnchorGroupSize(r.anchorGroupSize())
                    .setPolicyVersion(s.getPolicyVersion())
                    .setGroupSamples(rows.size())
                    .build();
            context.forward(new Record<Object, Object>(groupId, sample, lastStepTimestamp),
                    AdvantageTopology.SAMPLES_SINK);
        }
        keys.forEach(steps::delete);
        finish(groupId, state, keys.size());
        metrics.completed(rows.size(), context.currentSystemTimeMs() - lastStepTimestamp,
                anchorGroups.values().stream().mapToInt(Integer::intValue).toArray());
    }

    private void drop(String groupId, GroupState state, DropReason reason) {
        long now = context.currentSystemTimeMs();
        LOG.warn("group {} attempt {} dropped ({}): {} of {} episodes finished", groupId, state.attempt, reason,
                state.episodesFinished(), state.groupSize);
        DroppedGroup dropped = DroppedGroup.newBuilder()
                .setGroupId(groupId)
                .setAttempt(state.attempt)
                .setReason(reason)
                .setEpisodesFinished(state.episodesFinished())
                .setGroupSize(state.groupSize)
                .setDroppedAtMs(now)
                .build();
        context.forward(new Record<Object, Object>(groupId, dropped, now), AdvantageTopology.DROPPED_SINK);
        int removed = deleteSteps(groupId, state.attempt);
        finish(groupId, state, removed);
        metrics.dropped(reason.name().toLowerCase(java.util.Locale.ROOT));
    }

    /** Removes an open group's state without a trace (it was superseded by a newer attempt). */
    private void forget(String groupId, GroupState state) {
        stored -= deleteSteps(groupId, state.attempt);
        groups.delete(groupId);
        open--;
    }

    private void finish(String groupId, GroupState state, int removedSteps) {
        groups.delete(groupId);
        finished.put(groupId, new FinishedMark(state.attempt, context.currentSystemTimeMs()).toBytes());
        open--;
        stored -= removedSteps;
        metrics.taskGauges(task, open, stored);
    }

    private int deleteSteps(String groupId, int attempt) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = steps.prefixScan(StepKeys.prefix(groupId, attempt), KEYS)) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        keys.forEach(steps::delete);
        return keys.size();
    }

    private void dropTimedOut(long wallClockMs) {
        long now = context.currentStreamTimeMs();
        List<KeyValue<String, GroupState>> expired = new ArrayList<>();
        try (KeyValueIterator<String, GroupState> it = groups.all()) {
            while (it.hasNext()) {
                KeyValue<String, GroupState> kv = it.next();
                if (now - kv.value.firstStepMs >= config.groupTimeout().toMillis()) {
                    expired.add(kv);
                }
            }
        }
        expired.forEach(kv -> drop(kv.key, kv.value, DropReason.TIMEOUT));
        metrics.taskGauges(task, open, stored);
    }

    private void forgetFinished(long now) {
        List<String> old = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = finished.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                if (now - decode(kv.key, kv.value).atMs() >= config.finishedRetention().toMillis()) {
                    old.add(kv.key);
                }
            }
        }
        old.forEach(finished::delete);
    }

    private void deadLetter(Record<byte[], byte[]> record, String reason, String error) {
        RecordMetadata meta = context.recordMetadata().orElse(null);
        String topic = meta == null ? "" : meta.topic();
        int partition = meta == null ? -1 : meta.partition();
        long offset = meta == null ? -1 : meta.offset();
        LOG.warn("dead-lettering {}-{}@{}: {} {}", topic, partition, offset, reason, error);
        context.forward(new Record<Object, Object>(record.key(), record.value(), record.timestamp(),
                DeadLetters.headers(record.headers(), topic, partition, offset, reason, error, service)),
                AdvantageTopology.DLQ_SINK);
        metrics.step(AdvantageMetrics.StepOutcome.DEAD_LETTERED);
    }

    private String sourceTopic() {
        return context.recordMetadata().map(RecordMetadata::topic).orElse("");
    }

    private FinishedMark finishedMark(String groupId) {
        byte[] bytes = finished.get(groupId);
        return bytes == null ? null : decode(groupId, bytes);
    }

    /** A malformed mark fails like a corrupt group state: with a {@link SerializationException}. */
    private static FinishedMark decode(String groupId, byte[] bytes) {
        try {
            return FinishedMark.fromBytes(bytes);
        } catch (IllegalArgumentException e) {
            throw new SerializationException("corrupt finished mark of group " + groupId, e);
        }
    }

    @Override
    public void close() {
        metrics.taskClosed(task);
    }
}
