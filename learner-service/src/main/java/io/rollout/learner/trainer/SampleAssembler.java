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
 * or the consumer's position when there is none. Groups finished after that offset are
 * remembered as done, so that replaying from the resume offset skips them.
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

    /** A trained or discarded group and the last offset of its samples, for the checkpoint. */
    public record DoneGroup(String groupId, int attempt, int partition, long maxOffset) {}

    /** What {@link #add} did with a sample. */
    public enum Outcome { BUFFERED, COMPLETED, DUPLICATE, ALREADY_DONE }

    private final Map<GroupKey, Group> pending = new LinkedHashMap<>();
    private final Map<GroupKey, Set<Long>> seenSteps = new HashMap<>();
    private final Deque<Group> complete = new ArrayDeque<>();
    private final Map<GroupKey, DoneGroup> done = new HashMap<>();

    /** Buffers a decoded, valid sample (with {@code groupSamples >= 1}). */
    public Outcome add(int partition, long offset, TrainingSample sample) {
        GroupKey key = new GroupKey(sample.getGroupId().toString(), sample.getAttempt());
        if (done.containsKey(key)) {
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

    /** The oldest complete group, removed from the queue (mark it done once it is used); null if none. */
    public Group pollComplete() {
        return complete.poll();
    }

    /** Puts groups taken with {@link #pollComplete} back in front, in their order. */
    public void returnComplete(List<Group> groups) {
        for (int i = groups.size() - 1; i >= 0; i--) {
            complete.addFirst(groups.get(i));
        }
    }

    /**
     * Drops a group from the buffers (an invalid sample poisons its group) and marks it done so
     * its later samples are ignored.
     */
    public void discard(GroupKey key, int partition, long offset) {
        Group group = pending.remove(key);
        seenSteps.remove(key);
        long max = offset;
        if (group != null) {
            max = Math.max(max, group.maxOffset());
        }
        DoneGroup old = done.get(key);
        done.put(key, new DoneGroup(key.groupId(), key.attempt(), partition,
                old == null ? max : Math.max(old.maxOffset(), max)));
    }

    /** Marks a group trained (or discarded as stale) after it was taken from the queue. */
    public void markDone(Group group) {
        done.put(group.key(), new DoneGroup(group.key().groupId(), group.key().attempt(), group.partition(),
                group.maxOffset()));
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

    /**
     * The done groups a replay from {@code resume} would meet again; the others are forgotten
     * (pruned) since no replay reaches their samples.
     */
    public List<DoneGroup> doneAfter(Map<Integer, Long> resume) {
        done.values().removeIf(d -> d.maxOffset() < resume.getOrDefault(d.partition(), Long.MAX_VALUE));
        return new ArrayList<>(done.values());
    }

    /** Restores the done set of a checkpoint; buffers start empty (the replay refills them). */
    public void restore(Collection<DoneGroup> doneGroups) {
        pending.clear();
        seenSteps.clear();
        complete.clear();
        done.clear();
        doneGroups.forEach(d -> done.put(new GroupKey(d.groupId(), d.attempt()), d));
    }

    /** Samples held in incomplete groups. */
    public int bufferedSamples() {
        return pending.values().stream().mapToInt(g -> g.samples().size()).sum();
    }
}
