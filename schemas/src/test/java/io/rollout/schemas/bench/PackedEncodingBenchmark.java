package io.rollout.schemas.bench;

import io.rollout.records.Step;
import io.rollout.schemas.serde.AvroSerde;
import io.rollout.schemas.serde.Packed;
import io.rollout.schemas.serde.SampleRecords;
import io.rollout.schemas.serde.SchemaHistory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Single-object encode and decode of a Step, with token ids and log-probs packed into
 * {@code bytes} (the released schema) versus the same record with Avro arrays
 * ({@code array<int>}, {@code array<float>}, boxed in the generated class).
 * Run: see docs/benchmarks.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class PackedEncodingBenchmark {

    /** Prompt tokens; the response has a quarter as many (at least 16). */
    @Param({"256", "2048"})
    public int promptTokens;

    private final AvroSerde<Step> packedSerde = AvroSerde.of(Step.class);
    private final AvroSerde<StepWithArrays> arraySerde = AvroSerde.of(StepWithArrays.class, SchemaHistory.of(List.of()));

    private Step packed;
    private StepWithArrays arrays;
    private byte[] packedBytes;
    private byte[] arrayBytes;

    @Setup
    public void setUp() {
        packed = SampleRecords.step(new Random(1), promptTokens, Math.max(16, promptTokens / 4));
        arrays = StepWithArrays.newBuilder()
                .setGroupId(packed.getGroupId())
                .setEpisode(packed.getEpisode())
                .setGroupSize(packed.getGroupSize())
                .setAttempt(packed.getAttempt())
                .setT(packed.getT())
                .setEnv(packed.getEnv())
                .setAnchor(packed.getAnchor())
                .setPromptTokens(boxed(Packed.toInts(packed.getPromptTokens())))
                .setResponseTokens(boxed(Packed.toInts(packed.getResponseTokens())))
                .setOldLogProbs(boxed(Packed.toFloats(packed.getOldLogProbs())))
                .setReward(packed.getReward())
                .setValid(packed.getValid())
                .setDone(packed.getDone())
                .setTerminalReason(TerminalReason.NONE)
                .setPolicyVersion(packed.getPolicyVersion())
                .setActorId(packed.getActorId())
                .setTimings(new StepTimings(1L, 2L, 3L))
                .build();
        packedBytes = packedSerde.serialize("bench", packed);
        arrayBytes = arraySerde.serialize("bench", arrays);
        System.out.printf("%n[bytes per record] promptTokens=%d packed=%d arrays=%d%n",
                promptTokens, packedBytes.length, arrayBytes.length);
    }

    @Benchmark
    public byte[] encodePacked() {
        return packedSerde.serialize("bench", packed);
    }

    @Benchmark
    public byte[] encodeArrays() {
        return arraySerde.serialize("bench", arrays);
    }

    /** Decode and unpack to int[]/float[], as the trainer uses them. */
    @Benchmark
    public int decodePacked() {
        Step step = packedSerde.deserialize("bench", packedBytes);
        return Packed.toInts(step.getPromptTokens()).length + Packed.toFloats(step.getOldLogProbs()).length;
    }

    /** Decode and unbox to int[]/float[], as the trainer would use them. */
    @Benchmark
    public int decodeArrays() {
        StepWithArrays step = arraySerde.deserialize("bench", arrayBytes);
        int[] tokens = step.getPromptTokens().stream().mapToInt(Integer::intValue).toArray();
        List<Float> lp = step.getOldLogProbs();
        float[] logProbs = new float[lp.size()];
        for (int i = 0; i < logProbs.length; i++) {
            logProbs[i] = lp.get(i);
        }
        return tokens.length + logProbs.length;
    }

    private static List<Integer> boxed(int[] values) {
        List<Integer> out = new ArrayList<>(values.length);
        for (int v : values) {
            out.add(v);
        }
        return out;
    }

    private static List<Float> boxed(float[] values) {
        List<Float> out = new ArrayList<>(values.length);
        for (float v : values) {
            out.add(v);
        }
        return out;
    }
}
