package io.rollout.learner.trainer;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Every group id the trainer has finished (trained, or discarded for good), kept for the whole
 * run and carried in each checkpoint, so that a group is trained at most once whatever its
 * attempts and however late a replay of it arrives.
 *
 * <p>The scheduler names groups {@code <run>-<index>} with an index of at least eight digits
 * and finishes them roughly in index order, so those ids are kept per run as ranges of
 * indexes: a run of weeks costs a few ranges per gap, not an entry per group. Any other id
 * (samples written by another tool) is kept as it is.
 */
public final class FinishedGroups {

    /** The checkpoint form: per run prefix, [first, last] index ranges; other ids verbatim. */
    public record Snapshot(Map<String, List<long[]>> ranges, List<String> ids) {

        @JsonCreator
        public Snapshot(@JsonProperty("ranges") Map<String, List<long[]>> ranges,
                @JsonProperty("ids") List<String> ids) {
            this.ranges = ranges == null ? Map.of() : ranges;
            this.ids = ids == null ? List.of() : ids;
        }
    }

    /** Per run prefix: first index of a range -> last index of it (inclusive); ranges never touch. */
    private final Map<String, TreeMap<Long, Long>> ranges = new HashMap<>();
    private final Set<String> ids = new TreeSet<>();

    public boolean contains(String groupId) {
        Indexed parsed = Indexed.parse(groupId);
        if (parsed == null) {
            return ids.contains(groupId);
        }
        TreeMap<Long, Long> run = ranges.get(parsed.run());
        if (run == null) {
            return false;
        }
        Map.Entry<Long, Long> below = run.floorEntry(parsed.index());
        return below != null && below.getValue() >= parsed.index();
    }

    /** Marks a group finished; returns false if it already was. */
    public boolean add(String groupId) {
        Indexed parsed = Indexed.parse(groupId);
        if (parsed == null) {
            return ids.add(groupId);
        }
        if (contains(groupId)) {
            return false;
        }
        addRange(ranges.computeIfAbsent(parsed.run(), r -> new TreeMap<>()), parsed.index(), parsed.index());
        return true;
    }

    private static void addRange(TreeMap<Long, Long> run, long first, long last) {
        Map.Entry<Long, Long> before = run.floorEntry(first - 1);
        if (before != null && before.getValue() >= first - 1) {
            first = before.getKey();
            last = Math.max(last, before.getValue());
            run.remove(before.getKey());
        }
        Map.Entry<Long, Long> after;
        while ((after = run.ceilingEntry(first)) != null && after.getKey() <= last + 1) {
            last = Math.max(last, after.getValue());
            run.remove(after.getKey());
        }
        run.put(first, last);
    }

    /** Entries kept: ranges plus verbatim ids (what the checkpoint grows with). */
    public int entries() {
        return ranges.values().stream().mapToInt(TreeMap::size).sum() + ids.size();
    }

    public Snapshot snapshot() {
        Map<String, List<long[]>> out = new TreeMap<>();
        ranges.forEach((run, r) -> {
            List<long[]> list = new ArrayList<>(r.size());
            r.forEach((first, last) -> list.add(new long[] {first, last}));
            out.put(run, list);
        });
        return new Snapshot(out, new ArrayList<>(ids));
    }

    public static FinishedGroups restore(Snapshot snapshot) {
        FinishedGroups f = new FinishedGroups();
        if (snapshot == null) {
            return f;
        }
        snapshot.ranges().forEach((run, list) -> {
            TreeMap<Long, Long> r = f.ranges.computeIfAbsent(run, k -> new TreeMap<>());
            for (long[] range : list) {
                if (range.length != 2 || range[0] < 0 || range[1] < range[0]) {
                    throw new IllegalArgumentException("finished-group range of run '" + run + "' is not "
                            + "[first, last] with 0 <= first <= last");
                }
                addRange(r, range[0], range[1]);
            }
        });
        f.ids.addAll(snapshot.ids());
        return f;
    }

    /** A scheduler-made id: {@code <run>-<index>}, the index zero-padded to at least eight digits. */
    private record Indexed(String run, long index) {

        static Indexed parse(String groupId) {
            int dash = groupId.lastIndexOf('-');
            int digits = groupId.length() - dash - 1;
            if (dash < 1 || digits < 8 || digits > 18) {
                return null;
            }
            for (int i = dash + 1; i < groupId.length(); i++) {
                char c = groupId.charAt(i);
                if (c < '0' || c > '9') {
                    return null;
                }
            }
            // Only the canonical spelling (%08d) maps to an index, so two spellings never share one.
            if (digits > 8 && groupId.charAt(dash + 1) == '0') {
                return null;
            }
            return new Indexed(groupId.substring(0, dash), Long.parseLong(groupId, dash + 1, groupId.length(), 10));
        }
    }
}
