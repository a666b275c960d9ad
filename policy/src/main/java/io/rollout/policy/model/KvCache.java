package io.rollout.policy.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys and values of every layer for a batch, preallocated to a fixed number of slots so a
 * decode step writes one slot in place instead of copying the cache. Slot i of every
 * sequence holds position-ordered tokens; which slots hold real tokens is the caller's
 * key mask. Owns its arrays; close it (or the manager it was made in) when generation ends.
 */
public final class KvCache implements AutoCloseable {

    private final NDManager manager;
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private int length;

    KvCache(NDManager parent, ModelConfig config, int batch, int capacity, DataType dtype) {
        this.manager = parent.newSubManager();
        this.capacity = capacity;
        Shape shape = new Shape(batch, config.numKvHeads(), capacity, config.headDim());
        this.keys = new NDArray[config.numLayers()];
        this.values = new NDArray[config.numLayers()];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = manager.zeros(shape, dtype);
            values[l] = manager.zeros(shape, dtype);
        }
    }

    private KvCache(NDManager manager, NDArray[] keys, NDArray[] values, int capacity, int length) {
        this.manager = manager;
        this.keys = keys;
        this.values = values;
        this.capacity = capacity;
        this.length = length;
    }

    /**
     * Rows of a cache to carry into a merged one: {@code rows} (ascending batch indices) and
     * their last {@code width} filled slots.
     */
    public record Part(KvCache cache, int[] rows, int width) {

        public Part {
            if (width < 0 || width > cache.length) {
                throw new IllegalArgumentException("width " + width + " outside the " + cache.length + " filled slots");
            }
            for (int i = 1; i < rows.length; i++) {
                if (rows[i] <= rows[i - 1]) {
                    throw new IllegalArgumentException("rows must ascend");
                }
            }
        }
    }

    /**
     * A new cache of {@code capacity} slots holding the parts' rows one after another in
     * order, each row's kept slots right-aligned so they end at slot {@code width - 1} (the
     * slots before them zero: the caller masks them as padding); its length is {@code width}.
     * How continuous batching lets sequences join and leave a running batch: rows that ended
     * are left out, and slots no remaining row uses are dropped from the left. The parts'
     * caches are not changed; the new one lives in a sub-manager of {@code parent}.
     */
    public static KvCache merge(NDManager parent, List<Part> parts, int width, int capacity) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to merge");
        }
        if (width < 1 || capacity < width) {
            throw new IllegalArgumentException("width " + width + " and capacity " + capacity);
        }
        int rows = 0;
        for (Part p : parts) {
            if (p.width > width) {
                throw new IllegalArgumentException("a part keeps " + p.width + " slots, more than " + width);
            }
            rows += p.rows.length;
        }
        if (rows == 0) {
            throw new IllegalArgumentException("no rows to merge");
        }
        KvCache first = parts.get(0).cache;
        int layers = first.keys.length;
        NDManager manager = parent.newSubManager();
        NDArray[] keys = new NDArray[layers];
        NDArray[] values = new NDArray[layers];
        try (NDManager work = parent.newSubManager()) {
            for (int l = 0; l < layers; l++) {
                keys[l] = mergeLayer(work, parts, l, true, width, capacity, rows);
                values[l] = mergeLayer(work, parts, l, false, width, capacity, rows);
                keys[l].attach(manager);
                values[l].attach(manager);
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        return new KvCache(manager, keys, values, capacity, width);
    }

    private static NDArray mergeLayer(NDManager work, List<Part> parts, int layer, boolean key, int width,
            int capacity, int rows) {
        List<NDArray> pieces = new ArrayList<>();
        Shape shape = null;
        DataType dtype = null;
        for (Part p : parts) {
            NDArray src = key ? p.cache.keys[layer] : p.cache.values[layer];
            shape = src.getShape();
            dtype = src.getDataType();
            int end = p.cache.length;
            int start = end - p.width;
            int i = 0;
            while (i < p.rows.length) {
                int j = i + 1;
                while (j < p.rows.length && p.rows[j] == p.rows[j - 1] + 1) {
                    j++;
                }
                int n = j - i;
                NDArray run = src.get(new NDIndex("{}:{}, :, {}:{}", p.rows[i], p.rows[i] + n, start, end));
                run.attach(work);
                if (p.width < width) {
                    NDArray pad = work.zeros(new Shape(n, shape.get(1), width - p.width, shape.get(3)), dtype);
                    run = NDArrays.concat(new NDList(pad, run), 2);
                }
                pieces.add(run);
                i = j;
            }
        }
        NDArray merged = pieces.size() == 1 ? pieces.get(0) : NDArrays.concat(new NDList(pieces), 0);
        if (capacity > width) {
            NDArray free = work.zeros(new Shape(rows, shape.get(1), capacity - width, shape.get(3)), dtype);
            merged = NDArrays.concat(new NDList(merged, free), 2);
        } else if (pieces.size() == 1) {
            merged = merged.duplicate(); // a fresh array, not a view of the part's cache
        }
        return merged;
    }

    public int capacity() {
        return capacity;
    }

    /** Slots filled so far. */
    public int length() {
        return length;
    }

    /**
     * Writes layer {@code layer}'s new keys and values ([B, kvHeads, T, headDim]) at slots
     * {@code length .. length+T-1} and returns views of all slots up to there, attached to
     * {@code scope}.
     */
    NDArray[] append(int layer, NDArray k, NDArray v, NDManager scope) {
        long t = k.getShape().get(2);
        if (length + t > capacity) {
            throw new IllegalStateException("KV cache full: " + length + " + " + t + " > " + capacity);
        }
        NDIndex write = new NDIndex(":, :, {}:{}", length, length + t);
        keys[layer].set(write, k);
        values[layer].set(write, v);
        NDIndex upTo = new NDIndex(":, :, :{}", length + t);
        NDArray kAll = keys[layer].get(upTo);
        NDArray vAll = values[layer].get(upTo);
        kAll.attach(scope);
        vAll.attach(scope);
        return new NDArray[] {kAll, vAll};
    }

    /** Marks {@code t} more slots as filled; called once per forward pass, after every layer. */
    void advance(int t) {
        length += t;
    }

    @Override
    public void close() {
        manager.close();
    }
}
