package io.rollout.deploy.fuzz;

import io.rollout.records.LoraConfig;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.weights.ChunkAssembly;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A sequence of chunks and manifests as policy.weights delivers them (any order, any declared
 * counts, sizes and indexes), given to the weight reader's assembly. Nothing may escape it; an
 * assembled version must hold exactly the bytes its manifest declares. A manifest may carry the
 * true SHA-256 of the chunks sent so far for its version, so the fuzzer reaches assembly.
 */
public final class WeightChunksFuzz {

    private static final LoraConfig LORA = LoraConfig.newBuilder().setBaseModel("tiny").setRank(4).setAlpha(8)
            .setDropout(0).setTargetModules(List.of("q_proj")).build();

    private WeightChunksFuzz() {
    }

    public static void fuzzerTestOneInput(byte[] data) throws NoSuchAlgorithmException {
        ByteBuffer in = ByteBuffer.wrap(data);
        ChunkAssembly assembly = new ChunkAssembly("policy", 4096);
        Map<Long, TreeMap<Integer, byte[]>> sent = new TreeMap<>();
        long current = 0;
        while (in.remaining() >= 2) {
            int op = in.get() & 0xFF;
            long version = in.get() & 0x0F;
            if ((op & 1) == 0) {
                int index = (op & 2) == 0 ? (op >>> 2) & 0x07 : in.remaining() >= 4 ? in.getInt() : 0;
                byte[] bytes = new byte[Math.min(in.remaining(), (op >>> 5) * 3)];
                in.get(bytes);
                sent.computeIfAbsent(version, v -> new TreeMap<>()).put(index, bytes);
                WeightChunk chunk = WeightChunk.newBuilder().setAdapter((op & 0x80) == 0 ? "policy" : "other")
                        .setVersion(version).setIndex(index).setData(ByteBuffer.wrap(bytes)).build();
                assembly.chunk(chunk, current);
            } else {
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                sent.getOrDefault(version, new TreeMap<>()).values().forEach(all::writeBytes);
                int count = (op & 2) == 0 ? sent.getOrDefault(version, new TreeMap<>()).size()
                        : in.remaining() >= 4 ? in.getInt() : -1;
                long total = (op & 4) == 0 ? all.size() : in.remaining() >= 8 ? in.getLong() : -1;
                String sha = (op & 8) == 0
                        ? HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(all.toByteArray()))
                        : "00";
                WeightManifest m = WeightManifest.newBuilder().setAdapter("policy").setVersion(version)
                        .setChunkCount(count).setTotalBytes(total).setSha256(sha).setCreatedAtMs(0).setLora(LORA)
                        .build();
                ChunkAssembly.Outcome out = assembly.manifest(m, current);
                if (out instanceof ChunkAssembly.Outcome.Assembled a) {
                    if (a.version().bytes().length != total || a.version().version() <= current) {
                        throw new IllegalStateException("assembled version " + a.version().version() + " of "
                                + a.version().bytes().length + " bytes from a manifest of " + total);
                    }
                    current = a.version().version();
                }
            }
            if (assembly.pendingBytes() < 0) {
                throw new IllegalStateException("negative pending bytes " + assembly.pendingBytes());
            }
        }
    }
}
