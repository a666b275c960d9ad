package io.rollout.learner.advantage;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.apache.kafka.streams.state.internals.BlockBasedTableConfigWithAccessibleCache;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.WriteBufferManager;

/**
 * Bounds the native memory of every RocksDB store of the advantage app by one budget per
 * process: all stores share one block cache, and their memtables are charged to that cache
 * through one write buffer manager, with index and filter blocks cached too. Without it each
 * store gets its own 50 MiB cache and up to three 16 MiB memtables: the app has three stores per
 * task, so six tasks could hold about 1.8 GB, and the resident size of an advantage app grew by
 * 20-25 MB per hour in the two-hour soak while its heap and state directory stayed flat.
 *
 * <p>Kafka Streams creates one instance per store; the cache and manager are shared by every store
 * in the process that asks for the same budget, so they are never closed here.
 */
public final class BoundedRocksDbMemory implements RocksDBConfigSetter {

    /** Streams setting (passed through to this class) with the budget in bytes. */
    public static final String BUDGET_CONFIG = "rollout.advantage.rocksdb.memory.bytes";
    /** The smallest budget taken, in MiB. */
    public static final int MIN_BUDGET_MIB = 8;
    /** Share of the budget that memtables may take; the rest holds data, index and filter blocks. */
    static final double MEMTABLE_SHARE = 0.5;
    /** Share of the cache kept for index and filter blocks (high priority). */
    static final double INDEX_FILTER_SHARE = 0.1;
    private static final long MEMTABLE_BYTES = 4L << 20;
    private static final int MEMTABLES = 2;

    private static final Map<Long, Shared> SHARED = new HashMap<>();

    private record Shared(Cache cache, WriteBufferManager writeBuffers) {
    }

    private static synchronized Shared shared(long budget) {
        return SHARED.computeIfAbsent(budget, b -> {
            Cache cache = new LRUCache(b, -1, false, INDEX_FILTER_SHARE);
            return new Shared(cache, new WriteBufferManager((long) (b * MEMTABLE_SHARE), cache));
        });
    }

    /** The budget named in the Streams settings; it must be at least {@link #MIN_BUDGET_MIB} MiB. */
    static long budget(Map<String, Object> configs) {
        Object value = configs.get(BUDGET_CONFIG);
        if (value == null) {
            throw new IllegalArgumentException(BUDGET_CONFIG + " is not set");
        }
        long bytes = Long.parseLong(value.toString().trim());
        if (bytes < ((long) MIN_BUDGET_MIB << 20)) {
            throw new IllegalArgumentException(BUDGET_CONFIG + " must be at least " + MIN_BUDGET_MIB + " MiB, got "
                    + bytes);
        }
        return bytes;
    }

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        Shared shared = shared(budget(configs));
        BlockBasedTableConfigWithAccessibleCache table = (BlockBasedTableConfigWithAccessibleCache) options.tableFormatConfig();
        table.setBlockCache(shared.cache());
        table.setCacheIndexAndFilterBlocks(true);
        table.setCacheIndexAndFilterBlocksWithHighPriority(true);
        table.setPinTopLevelIndexAndFilter(true);
        options.setWriteBufferManager(shared.writeBuffers());
        options.setWriteBufferSize(MEMTABLE_BYTES);
        options.setMaxWriteBufferNumber(MEMTABLES);
        options.setTableFormatConfig(table);
    }

    @Override
    public void close(String storeName, Options options) {
        // The cache and the write buffer manager are shared by every store: they live as long as the process.
    }
}
