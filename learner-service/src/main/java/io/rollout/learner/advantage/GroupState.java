package io.rollout.learner.advantage;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.BitSet;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * What the advantage app knows about one open group (one attempt of it): its size, when
 * its first step arrived, and per episode how many distinct steps arrived and at which
 * step index it ended. An episode is complete when its last step and every step before it
 * have arrived, whatever the order; the group is complete when all its episodes are.
 */
final class GroupState {

    private static final byte VERSION = 3;

    final int attempt;
    final int groupSize;
    /** Timestamp of the record of the group's first step (when the actor produced it). */
    final long firstStepMs;
    /** Step index of each episode's last step, -1 until it arrives. */
    private final int[] lastT;
    /** Step indexes seen per episode, so a duplicate is known without a store lookup. */
    private final BitSet[] seen;

    private GroupState(int attempt, int groupSize, long firstStepMs, int[] lastT, BitSet[] seen) {
        this.attempt = attempt;
        this.groupSize = groupSize;
        this.firstStepMs = firstStepMs;
        this.lastT = lastT;
        this.seen = seen;
    }

    static GroupState open(int attempt, int groupSize, long nowMs) {
        int[] last = new int[groupSize];
        Arrays.fill(last, -1);
        BitSet[] seen = new BitSet[groupSize];
        for (int e = 0; e < groupSize; e++) {
            seen[e] = new BitSet();
        }
        return new GroupState(attempt, groupSize, nowMs, last, seen);
    }

    /** Records one new (not duplicate) step; returns this state, mutated. */
    /** Whether step t of the episode has arrived already. */
    boolean has(int episode, int t) {
        return seen[episode].get(t);
    }

    GroupState add(int episode, int t, boolean done) {
        seen[episode].set(t);
        if (done) {
            lastT[episode] = t;
        }
        return this;
    }

    /**
     * Why a new step cannot belong to this group's episode, or null when it can: a step
     * after the episode's last step, a second last step, or a last step before steps
     * already seen.
     */
    String conflict(int episode, int t, boolean done) {
        if (lastT[episode] >= 0 && t > lastT[episode]) {
            return "step " + t + " of episode " + episode + " comes after its last step " + lastT[episode];
        }
        if (done && lastT[episode] >= 0) {
            return "episode " + episode + " ends twice (steps " + lastT[episode] + " and " + t + ")";
        }
        int maxT = seen[episode].length() - 1;
        if (done && maxT > t) {
            return "episode " + episode + " ends at step " + t + " but step " + maxT + " was seen";
        }
        return null;
    }

    boolean episodeDone(int episode) {
        return lastT[episode] >= 0 && seen[episode].cardinality() == lastT[episode] + 1;
    }

    int episodesFinished() {
        int n = 0;
        for (int e = 0; e < groupSize; e++) {
            if (episodeDone(e)) {
                n++;
            }
        }
        return n;
    }

    boolean complete() {
        return episodesFinished() == groupSize;
    }

    int stepCount() {
        int n = 0;
        for (BitSet s : seen) {
            n += s.cardinality();
        }
        return n;
    }

    static Serde<GroupState> serde() {
        return Serdes.serdeFrom(new StateSerializer(), new StateDeserializer());
    }

    private static final class StateSerializer implements Serializer<GroupState> {
        @Override
        public byte[] serialize(String topic, GroupState s) {
            if (s == null) {
                return null;
            }
            long[][] bits = new long[s.groupSize][];
            int size = 1 + 4 + 4 + 8;
            for (int e = 0; e < s.groupSize; e++) {
                bits[e] = s.seen[e].toLongArray();
                size += 8 + 8 * bits[e].length;
            }
            ByteBuffer b = ByteBuffer.allocate(size);
            b.put(VERSION).putInt(s.attempt).putInt(s.groupSize).putLong(s.firstStepMs);
            for (int e = 0; e < s.groupSize; e++) {
                b.putInt(s.lastT[e]).putInt(bits[e].length);
                for (long word : bits[e]) {
                    b.putLong(word);
                }
            }
            return b.array();
        }
    }

    private static final class StateDeserializer implements Deserializer<GroupState> {
        @Override
        public GroupState deserialize(String topic, byte[] data) {
            if (data == null) {
                return null;
            }
            try {
                ByteBuffer b = ByteBuffer.wrap(data);
                byte version = b.get();
                if (version != VERSION) {
                    throw new SerializationException("group state version " + version + " is not " + VERSION);
                }
                int attempt = b.getInt();
                int size = b.getInt();
                long first = b.getLong();
                int[] last = new int[size];
                BitSet[] bits = new BitSet[size];
                for (int e = 0; e < size; e++) {
                    last[e] = b.getInt();
                    long[] words = new long[b.getInt()];
                    for (int w = 0; w < words.length; w++) {
                        words[w] = b.getLong();
                    }
                    bits[e] = BitSet.valueOf(words);
                }
                return new GroupState(attempt, size, first, last, bits);
            } catch (RuntimeException e) {
                throw new SerializationException("corrupt group state", e);
            }
        }
    }
}
