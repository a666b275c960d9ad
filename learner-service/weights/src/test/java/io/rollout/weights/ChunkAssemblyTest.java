package io.rollout.weights;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.records.LoraConfig;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.Limits;
import io.rollout.weights.ChunkAssembly.Outcome;
import io.rollout.weights.WeightReader.Rejection;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The weight reader's assembly of chunks into versions, without Kafka. */
class ChunkAssemblyTest {

    static WeightChunk chunk(long version, int index, String data) {
        return WeightChunk.newBuilder().setAdapter("policy").setVersion(version).setIndex(index)
                .setData(ByteBuffer.wrap(data.getBytes(StandardCharsets.UTF_8))).build();
    }

    static WeightManifest manifest(long version, int count, long total, String sha) {
        return WeightManifest.newBuilder().setAdapter("policy").setVersion(version).setChunkCount(count)
                .setTotalBytes(total).setSha256(sha).setCreatedAtMs(0).setLora(LoraConfig.newBuilder()
                        .setBaseModel("tiny").setRank(4).setAlpha(8).setDropout(0).setTargetModules(List.of("q"))
                        .build()).build();
    }

    static String sha(String s) {
        return Weights.hex(Weights.sha256().digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void shouldAssembleAWholeVersionInIndexOrderWhateverTheArrivalOrder() {
        ChunkAssembly a = new ChunkAssembly("policy", 1 << 20);
        assertThat(a.chunk(chunk(3, 1, "world"), 0)).isInstanceOf(Outcome.Kept.class);
        a.chunk(chunk(3, 0, "hello "), 0);
        Outcome out = a.manifest(manifest(3, 2, 11, sha("hello world")), 0);
        assertThat(out).isInstanceOfSatisfying(Outcome.Assembled.class, v ->
                assertThat(new String(v.version().bytes(), StandardCharsets.UTF_8)).isEqualTo("hello world"));
        assertThat(a.pendingBytes()).isZero();
    }

    @Test
    void shouldRefuseWhatAManifestOrChunkDeclaresBeyondTheLimitsWithoutAllocatingIt() {
        ChunkAssembly a = new ChunkAssembly("policy", 1 << 20);
        assertThat(a.manifest(manifest(2, Integer.MAX_VALUE, Long.MAX_VALUE, "x"), 0))
                .isEqualTo(new Outcome.Refused(Rejection.OVERSIZED, "declares 2147483647 chunks and "
                        + Long.MAX_VALUE + " bytes; at most " + Limits.MAX_CHUNK_COUNT + " chunks (Limits.MAX_CHUNK_COUNT)"
                        + " and " + Limits.MAX_ADAPTER_BYTES + " bytes (Limits.MAX_ADAPTER_BYTES) are read"));
        assertThat(a.chunk(chunk(2, -1, "x"), 0)).isInstanceOf(Outcome.Refused.class);
        assertThat(a.manifest(manifest(3, 2, 2, "x"), 0)).extracting(o -> ((Outcome.Refused) o).reason())
                .isEqualTo(Rejection.INCOMPLETE);
        a.chunk(chunk(4, 0, "ab"), 0);
        assertThat(a.manifest(manifest(4, 1, 2, sha("xy")), 0)).extracting(o -> ((Outcome.Refused) o).reason())
                .isEqualTo(Rejection.CORRUPT);
        assertThat(a.manifest(manifest(5, 0, 0, "x"), 0)).extracting(o -> ((Outcome.Refused) o).reason())
                .isEqualTo(Rejection.CORRUPT);
    }

    @Test
    void shouldIgnoreStaleVersionsOtherAdaptersAndBoundChunksWithoutAManifest() {
        ChunkAssembly a = new ChunkAssembly("policy", 10);
        assertThat(a.chunk(chunk(1, 0, "old"), 5)).isInstanceOf(Outcome.Kept.class);
        assertThat(a.pendingBytes()).isZero();
        WeightChunk other = chunk(9, 0, "x");
        other.setAdapter("other");
        a.chunk(other, 0);
        assertThat(a.pendingBytes()).isZero();
        a.chunk(chunk(6, 0, "123456"), 5);
        a.chunk(chunk(7, 0, "123456"), 5);
        assertThat(a.pendingBytes()).as("version 6's chunks dropped to stay under 10 bytes").isEqualTo(6);
        assertThat(a.manifest(manifest(6, 1, 6, sha("123456")), 5)).extracting(o -> ((Outcome.Refused) o).reason())
                .isEqualTo(Rejection.INCOMPLETE);
    }
}
