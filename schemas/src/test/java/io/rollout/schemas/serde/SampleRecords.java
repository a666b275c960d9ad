package io.rollout.schemas.serde;

import io.rollout.records.DropReason;
import io.rollout.records.DroppedGroup;
import io.rollout.records.LoraConfig;
import io.rollout.records.Step;
import io.rollout.records.StepTimings;
import io.rollout.records.Task;
import io.rollout.records.TerminalReason;
import io.rollout.records.TrainingSample;
import io.rollout.records.WeightChunk;
import io.rollout.records.WeightManifest;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Deterministic sample records for serde tests and benchmarks. */
public final class SampleRecords {

    private SampleRecords() {
    }

    public static Task task() {
        return Task.newBuilder()
                .setGroupId("g-000017")
                .setEnv("sokoban")
                .setEnvConfig(Map.of("dim", "6", "boxes", "1"))
                .setSeed(424242L)
                .setGroupSize(8)
                .setMaxSteps(15)
                .setAttempt(1)
                .setPolicyVersion(12L)
                .setCreatedAtMs(1_764_000_000_000L)
                .build();
    }

    /** A step with {@code promptLen} prompt tokens and {@code responseLen} response tokens. */
    public static Step step(Random random, int promptLen, int responseLen) {
        return Step.newBuilder()
                .setGroupId("g-" + random.nextInt(1000))
                .setEpisode(random.nextInt(8))
                .setGroupSize(8)
                .setAttempt(0)
                .setT(random.nextInt(15))
                .setEnv("sokoban")
                .setAnchor("#####\n#@ $.#\n#####")
                .setPromptTokens(Packed.ints(tokens(random, promptLen)))
                .setResponseTokens(Packed.ints(tokens(random, responseLen)))
                .setOldLogProbs(Packed.floats(logProbs(random, responseLen)))
                .setReward(random.nextBoolean() ? 1.0f : -0.1f)
                .setValid(true)
                .setDone(false)
                .setTerminalReason(TerminalReason.NONE)
                .setPolicyVersion(3L)
                .setActorId("actor-0")
                .setTimings(new StepTimings(1200L, 300L, 1_764_000_000_123L))
                .build();
    }

    public static TrainingSample sample(Random random) {
        return TrainingSample.newBuilder()
                .setGroupId("g-1")
                .setEpisode(2)
                .setAttempt(0)
                .setT(4)
                .setPromptTokens(Packed.ints(tokens(random, 64)))
                .setResponseTokens(Packed.ints(tokens(random, 16)))
                .setOldLogProbs(Packed.floats(logProbs(random, 16)))
                .setEpisodeAdvantage(0.75f)
                .setStepAdvantage(-0.25f)
                .setAdvantage(0.5f)
                .setAnchorGroupSize(3)
                .setPolicyVersion(7L)
                .build();
    }

    public static WeightManifest manifest() {
        return WeightManifest.newBuilder()
                .setAdapter("policy")
                .setVersion(9L)
                .setSha256("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
                .setChunkCount(3)
                .setTotalBytes(3_000_000L)
                .setLora(LoraConfig.newBuilder()
                        .setBaseModel("tiny-llama")
                        .setRank(8)
                        .setAlpha(16f)
                        .setTargetModules(List.of("q_proj", "v_proj"))
                        .build())
                .setCreatedAtMs(1_764_000_000_000L)
                .build();
    }

    public static WeightChunk chunk(Random random) {
        byte[] data = new byte[4096];
        random.nextBytes(data);
        return new WeightChunk("policy", 9L, 2, ByteBuffer.wrap(data));
    }

    public static DroppedGroup dropped() {
        return new DroppedGroup("g-3", 0, DropReason.TIMEOUT, 5, 8, 1_764_000_000_000L);
    }

    public static int[] tokens(Random random, int n) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextInt(151_936);
        }
        return out;
    }

    public static float[] logProbs(Random random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) -random.nextDouble(8.0);
        }
        return out;
    }
}
