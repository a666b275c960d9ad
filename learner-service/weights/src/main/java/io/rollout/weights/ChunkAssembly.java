package io.rollout.weights;

import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.Limits;
import io.rollout.weights.WeightReader.Rejection;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The weight reader's core without Kafka: buffers the chunks of one adapter's versions above the
 * current one and assembles a version when its manifest arrives, checking the chunk count, the
 * size and the SHA-256. Nothing is allocated or looped by what a manifest or chunk declares beyond
 * {@link Limits}, and chunks whose manifest never comes are bounded in total. Not thread-safe:
 * the reader's poll thread owns it.
 */
public final class ChunkAssembly {

    private static final Logger LOG = LoggerFactory.getLogger(ChunkAssembly.class);

    /** What one record did. */
    public sealed interface Outcome {
        /** Nothing to report: another adapter's record, a stale version, or a chunk buffered. */
        record Kept() implements Outcome {}

        /** The record was refused; the current version stays. */
        record Refused(Rejection reason, String detail) implements Outcome {}

        /** A manifest completed a version. */
        record Assembled(AdapterVersion version) implements Outcome {}
    }

    private static final Outcome KEPT = new Outcome.Kept();

    private final String adapter;
    private final long maxPendingBytes;
    /** Chunks of versions above the current one, by version and index. */
    private final TreeMap<Long, Map<Integer, ByteBuffer>> pending = new TreeMap<>();
    private final Map<Long, Long> pendingBytesByVersion = new HashMap<>();
    private long pendingBytes;

    /**
     * @param maxPendingBytes chunk bytes held for versions whose manifest has not come; above it
     *     the oldest version's chunks are dropped
     */
    public ChunkAssembly(String adapter, long maxPendingBytes) {
        this.adapter = adapter;
        this.maxPendingBytes = maxPendingBytes;
    }

    /** Buffers a chunk of a version above {@code current}. */
    public Outcome chunk(WeightChunk chunk, long current) {
        long version = chunk.getVersion();
        if (!adapter.equals(chunk.getAdapter().toString()) || version <= current) {
            return KEPT;
        }
        int index = chunk.getIndex();
        if (index < 0 || index >= Limits.MAX_CHUNK_COUNT) {
            return new Outcome.Refused(Rejection.OVERSIZED, "chunk " + index + " of adapter " + adapter + " version "
                    + version + " is outside 0.." + (Limits.MAX_CHUNK_COUNT - 1) + " (Limits.MAX_CHUNK_COUNT)");
        }
        ByteBuffer data = chunk.getData();
        Map<Integer, ByteBuffer> chunks = pending.computeIfAbsent(version, v -> new HashMap<>());
        ByteBuffer replaced = chunks.get(index);
        long delta = data.remaining() - (replaced == null ? 0 : replaced.remaining());
        long versionBytes = pendingBytesByVersion.getOrDefault(version, 0L) + delta;
        if (versionBytes > Limits.MAX_ADAPTER_BYTES) {
            if (chunks.isEmpty()) {
                pending.remove(version);
            }
            return new Outcome.Refused(Rejection.OVERSIZED, "chunk " + index + " of adapter " + adapter + " version "
                    + version + " brings its chunks to " + versionBytes + " bytes, above Limits.MAX_ADAPTER_BYTES ("
                    + Limits.MAX_ADAPTER_BYTES + ")");
        }
        chunks.put(index, data);
        pendingBytesByVersion.put(version, versionBytes);
        pendingBytes += delta;
        // Chunks of versions whose manifest never came (a publish that died, a foreign writer) must not pile up:
        // drop the oldest; should its manifest still come, that version is rejected as incomplete.
        while (pendingBytes > maxPendingBytes && pending.size() > 1) {
            long oldest = pending.firstKey();
            LOG.warn("dropping the buffered chunks of adapter {} version {} ({} bytes): chunks of {} versions without a"
                    + " manifest exceed {} bytes", adapter, oldest, pendingBytesByVersion.get(oldest), pending.size(),
                    maxPendingBytes);
            free(oldest);
        }
        return KEPT;
    }

    /** Assembles the manifest's version from the buffered chunks, if it is above {@code current} and whole. */
    public Outcome manifest(WeightManifest m, long current) {
        if (!adapter.equals(m.getAdapter().toString())) {
            return KEPT;
        }
        long version = m.getVersion();
        if (version <= current) {
            return KEPT;
        }
        Map<Integer, ByteBuffer> chunks = pending.getOrDefault(version, Map.of());
        // No manifest of an older version can follow this one on the partition: free them all.
        while (!pending.isEmpty() && pending.firstKey() <= version) {
            free(pending.firstKey());
        }
        // Bounds first: nothing below is allocated or looped by what the manifest declares beyond them.
        int count = m.getChunkCount();
        long total = m.getTotalBytes();
        if (count > Limits.MAX_CHUNK_COUNT || total > Limits.MAX_ADAPTER_BYTES) {
            return new Outcome.Refused(Rejection.OVERSIZED, "declares " + count + " chunks and " + total
                    + " bytes; at most " + Limits.MAX_CHUNK_COUNT + " chunks (Limits.MAX_CHUNK_COUNT) and "
                    + Limits.MAX_ADAPTER_BYTES + " bytes (Limits.MAX_ADAPTER_BYTES) are read");
        }
        if (count < 1 || total < count) {
            return new Outcome.Refused(Rejection.CORRUPT, "declares " + count + " chunks and " + total
                    + " bytes; a version has at least one chunk and every chunk at least one byte");
        }
        int missing = 0;
        StringBuilder firstMissing = new StringBuilder();
        long size = 0;
        for (int i = 0; i < count; i++) {
            ByteBuffer chunk = chunks.get(i);
            if (chunk == null) {
                if (++missing <= 10) {
                    firstMissing.append(missing == 1 ? "" : ", ").append(i);
                }
            } else {
                size += chunk.remaining();
            }
        }
        if (missing > 0) {
            return new Outcome.Refused(Rejection.INCOMPLETE, missing + " of " + count + " chunks missing, first ["
                    + firstMissing + "]");
        }
        if (size != total) {
            return new Outcome.Refused(Rejection.CORRUPT, "chunks hold " + size + " bytes, manifest says " + total);
        }
        byte[] bytes = new byte[(int) size];
        MessageDigest sha = Weights.sha256();
        int at = 0;
        for (int i = 0; i < count; i++) {
            ByteBuffer chunk = chunks.get(i).duplicate();
            int length = chunk.remaining();
            chunk.get(bytes, at, length);
            at += length;
        }
        String actual = Weights.hex(sha.digest(bytes));
        if (!actual.equalsIgnoreCase(m.getSha256().toString())) {
            return new Outcome.Refused(Rejection.CORRUPT, "sha256 of the chunks is " + actual + ", manifest says "
                    + m.getSha256());
        }
        return new Outcome.Assembled(new AdapterVersion(m, bytes));
    }

    /** Chunk bytes held for versions without their manifest. */
    public long pendingBytes() {
        return pendingBytes;
    }

    private void free(long version) {
        pending.remove(version);
        Long bytes = pendingBytesByVersion.remove(version);
        pendingBytes -= bytes == null ? 0 : bytes;
    }
}
