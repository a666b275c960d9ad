package io.rollout.learner.trainer;

import io.rollout.records.TrainingSample;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns the partition-ordered stream of {@code train.samples} into complete groups, and knows
 * where a restarted trainer must resume so that no sample is trained twice or skipped.
 *
 * <p>A group's samples share its key, hence one partition. The resume offset of a partition is
 * the lowest offset of a sample not yet trained (buffered in an incomplete or waiting group),
 * or the consumer's position when there is none.
 *
 * <p>A group id is finished at most once: the first of its attempts to be trained (or
 * discarded) finishes it, and every other attempt, buffered now or arriving later, however
 * late, is ignored. {@link FinishedGroups} remembers finished ids for the whole run.
 */
public final class SampleAssembler {

    /** A group attempt. */
    public record GroupKey(String groupId, int attempt) {}

    /** A sample with where it came from. */
    public record Located(int partition, long offset, TrainingSample sample) {}

    /** A group with all of its samples, in arrival order. */
    public record Group(GroupKey key, int partition, List<Located> samples) {

        long minOffset() {
            return samples.stream().mapToLong(Located::offset).min().orElseThrow();
        }

        long maxOffset() {
            return samples.stream().mapToLong(Located::offset).max().orElseThrow();
        }
    }

    /** A finished group as checkpoint format 1 kept it; read when resuming from such a checkpoint. */
    public record DoneGroup(String groupId, int attempt, int partition, long maxOffset) {}

    /** What {@link #add} did with a sample. */
    public enum Outcome { BUFFERED, COMPLETED, DUPLICATE, ALREADY_DONE }

    private final Map<GroupKey, Group> pending = new LinkedHashMap<>();
    private final Map<GroupKey, Set<Long>> seenSteps = new HashMap<>();
    private final Deque<Group> complete = new ArrayDeque<>();
    private FinishedGroups finished = new FinishedGroups();
    private long ignoredAttempts;

    /** Buffers a decoded, valid sample (with {@code groupSamples >= 1}). */
    public Outcome add(int partition, long offset, TrainingSample sample) {
        GroupKey key = new GroupKey(sample.getGroupId().toString(), sample.getAttempt());
        if (finished.contains(key.groupId())) {
            return Outcome.ALREADY_DONE;
        }
        long step = ((long) sample.getEpisode() << 32) | (sample.getT() & 0xFFFFFFFFL);
        if (!seenSteps.computeIfAbsent(key, k -> new HashSet<>()).add(step)) {
            return Outcome.DUPLICATE;
        }
        Group group = pending.computeIfAbsent(key, k -> new Group(k, partition, new ArrayList<>()));
        group.samples().add(new Located(partition, offset, sample));
        if (group.samples().size() < sample.getGroupSamples()) {
            return Outcome.BUFFERED;
        }
        pending.remove(key);
        seenSteps.remove(key);
        complete.add(group);
        return Outcome.COMPLETED;
    }

    /** Complete groups waiting to be trained. */
    public int completeGroups() {
        return complete.size();
    }

    /**
     * The oldest complete group of an unfinished id, removed from the queue (mark it done once
     * it is used); null if none. Complete attempts of ids finished meanwhile are dropped.
     */
    public Group pollComplete() {
        Group g;
        while ((g = complete.poll()) != null) {
            if (!finished.contains(g.key().groupId())) {
                return g;
            }
            ignoredAttempts++;
        }
        return null;
    }

    /** Whether the group id was trained or discarded already. */
    public boolean finished(String groupId) {
        return finished.contains(groupId);
    }

    /** Complete attempts dropped because another attempt of their group finished first. */
    public long ignoredAttempts() {
        return ignoredAttempts;
    }

    /** Puts groups taken with {@link #pollComplete} back in front, in their order. */
    public void returnComplete(List<Group> groups) {
        for (int i = groups.size() - 1; i >= 0; i--) {
            complete.addFirst(groups.get(i));
        }
    }

    /**
     * Drops a group from the buffers (an invalid sample poisons its group) and marks its id
     * finished so its later samples, of any attempt, are ignored.
     */
    public void discard(GroupKey key) {
        finish(key.groupId());
    }

    /** Marks a group's id finished (trained, or discarded as stale) after it was taken from the queue. */
    public void markDone(Group group) {
        finish(group.key().groupId());
    }

    private void finish(String groupId) {
        finished.add(groupId);
        // Incomplete attempts of the id would never complete now: drop them so they do not hold
        // the resume offset back.
        int before = pending.size();
        pending.keySet().removeIf(k -> k.groupId().equals(groupId));
        seenSteps.keySet().removeIf(k -> k.groupId().equals(groupId));
        ignoredAttempts += before - pending.size();
    }

    /**
     * Per partition, the offset to resume from: the lowest offset of a buffered sample, else
     * {@code positions} (the next offset the consumer would return).
     */
    public Map<Integer, Long> resumeOffsets(Map<Integer, Long> positions) {
        Map<Integer, Long> resume = new HashMap<>(positions);
        List<Group> buffered = new ArrayList<>(pending.values());
        buffered.addAll(complete);
        for (Group g : buffered) {
            resume.merge(g.partition(), g.minOffset(), Math::min);
        }
        return resume;
    }

    /** The finished ids, for the checkpoint. */
    public FinishedGroups.Snapshot finishedSnapshot() {
        return finished.snapshot();
    }

    /** Finished-id entries kept (ranges and verbatim ids). */
    public int finishedEntries() {
        return finished.entries();
    }

    /**
     * Restores the finished ids of a checkpoint, plus the groups a format-1 checkpoint listed;
     * buffers start empty (the replay refills them).
     */
    public void restore(FinishedGroups.Snapshot snapshot, Collection<DoneGroup> legacy) {
        pending.clear();
        seenSteps.clear();
        complete.clear();
        finished = FinishedGroups.restore(snapshot);
        if (legacy != null) {
            legacy.forEach(d -> finished.add(d.groupId()));
        }
    }

    /** Samples held in incomplete groups. */
    public int bufferedSamples() {
        return pending.values().stream().mapToInt(g -> g.samples().size()).sum();
    }
}
