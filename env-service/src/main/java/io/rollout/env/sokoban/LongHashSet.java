package io.rollout.env.sokoban;

/**
 * An open-addressing set of longs for the generator's and solver's visited states: no boxing,
 * and {@link #clear()} is O(1) (a generation stamp) so one set serves many searches.
 */
final class LongHashSet {

    private long[] keys;
    private int[] stamps;
    private int stamp = 1;
    private int mask;
    private int size;

    LongHashSet(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        stamps = new int[capacity];
        mask = capacity - 1;
    }

    int capacity() {
        return keys.length;
    }

    int size() {
        return size;
    }

    void clear() {
        size = 0;
        stamp++;
        if (stamp == 0) {
            // Wrapped after 2^32 clears: old stamps could look current again.
            java.util.Arrays.fill(stamps, 0);
            stamp = 1;
        }
    }

    /** Adds {@code key}; false when it was already present. */
    boolean add(long key) {
        int i = slot(key);
        while (stamps[i] == stamp) {
            if (keys[i] == key) {
                return false;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        stamps[i] = stamp;
        if (++size * 2 > keys.length) {
            grow();
        }
        return true;
    }

    boolean contains(long key) {
        int i = slot(key);
        while (stamps[i] == stamp) {
            if (keys[i] == key) {
                return true;
            }
            i = (i + 1) & mask;
        }
        return false;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldStamps = stamps;
        int oldStamp = stamp;
        keys = new long[oldKeys.length * 2];
        stamps = new int[oldKeys.length * 2];
        mask = keys.length - 1;
        stamp = 1;
        for (int j = 0; j < oldKeys.length; j++) {
            if (oldStamps[j] == oldStamp) {
                int i = slot(oldKeys[j]);
                while (stamps[i] == stamp) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                stamps[i] = stamp;
            }
        }
    }
}
