package io.rollout.learner.bench;

import io.rollout.learner.checkpoint.CheckpointStore;
import io.rollout.learner.trainer.GgpoConfig;
import io.rollout.learner.trainer.PolicyTrainer;
import io.rollout.learner.trainer.TrainerCheckpoint;
import io.rollout.learner.trainer.TrainerConfig;
import io.rollout.learner.trainer.TrainingSequence;
import io.rollout.policy.Policy;
import io.rollout.policy.lora.LoraSpec;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Update time per batch on a tiny model with GGPO off, flat and on (noise at full strength:
 * no ramp), and checkpoint write time.
 *
 * <p>Args: {@code [updates=12] [samples=64] [promptTokens=96] [responseTokens=16] [hidden=64] [layers=2]}.
 */
public final class TrainerBenchmark {

    public static void main(String[] args) throws Exception {
        int updates = arg(args, 0, 12);
        int samples = arg(args, 1, 64);
        int promptTokens = arg(args, 2, 96);
        int responseTokens = arg(args, 3, 16);
        int hidden = arg(args, 4, 64);
        int layers = arg(args, 5, 2);
        Path dir = Files.createTempDirectory("trainer-bench");
        TinyModelSpec spec = TinyModelSpec.defaults().withHiddenSize(hidden, hidden * 2).withLayers(layers);
        int vocab = TinyModels.write(dir.resolve("model"), spec, TinyModels.defaultWords(), 1);
        try (Policy policy = Policy.load(dir.resolve("model"))) {
            SplittableRandom random = new SplittableRandom(3);
            List<TrainingSequence> batch = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                int[] prompt = random.ints(promptTokens, 4, vocab).toArray();
                int[] response = random.ints(responseTokens, 4, vocab).toArray();
                float[] old = new float[responseTokens];
                Arrays.fill(old, (float) -Math.log(vocab));
                batch.add(new TrainingSequence(prompt, response, old, (float) random.nextGaussian()));
            }
            LoraSpec lora = LoraSpec.defaults("bench");
            Map<GgpoConfig.Mode, PolicyTrainer> trainers = new EnumMap<>(GgpoConfig.Mode.class);
            for (GgpoConfig.Mode mode : GgpoConfig.Mode.values()) {
                TrainerConfig config = TrainerConfig.defaults()
                        .withGgpo(new GgpoConfig(mode, 0.03, 0.01, 0)).withBatching(1, 32, 0);
                trainers.put(mode, new PolicyTrainer(policy, policy.newAdapter(lora, 1), config));
            }
            Map<GgpoConfig.Mode, long[]> times = new EnumMap<>(GgpoConfig.Mode.class);
            trainers.keySet().forEach(m -> times.put(m, new long[updates]));
            for (int round = -2; round < updates; round++) {
                // Modes take turns, so drift of the machine hits all of them alike.
                for (GgpoConfig.Mode mode : GgpoConfig.Mode.values()) {
                    long t0 = System.nanoTime();
                    trainers.get(mode).update(batch, round + 2);
                    if (round >= 0) {
                        times.get(mode)[round] = System.nanoTime() - t0;
                    }
                }
            }
            System.out.printf("model hidden=%d layers=%d vocab=%d; batch %d samples x (%d prompt + %d response) tokens, "
                    + "mini-batch 32 (2 optimizer steps), LoRA r=%d on all projections; %d timed updates per mode%n",
                    hidden, layers, vocab, samples, promptTokens, responseTokens, lora.rank(), updates);
            double none = median(times.get(GgpoConfig.Mode.NONE));
            for (GgpoConfig.Mode mode : GgpoConfig.Mode.values()) {
                double med = median(times.get(mode));
                System.out.printf("  %-5s update p50 %7.1f ms  mean %7.1f ms  %8.0f response tokens/s  overhead vs none %+5.1f%%%n",
                        mode.name().toLowerCase(), med / 1e6, mean(times.get(mode)) / 1e6,
                        samples * responseTokens / (med / 1e9), (med / none - 1) * 100);
            }
            PolicyTrainer ggpo = trainers.get(GgpoConfig.Mode.GGPO);
            CheckpointStore store = new CheckpointStore(dir.resolve("ckpt"), 2);
            long[] writes = new long[10];
            for (int i = 0; i < writes.length; i++) {
                TrainerCheckpoint ckpt = new TrainerCheckpoint(TrainerCheckpoint.FORMAT, i + 1, ggpo.optimizerSteps(), 0,
                        System.currentTimeMillis(), Map.of(0, 0L), null, null, null, null);
                long t0 = System.nanoTime();
                ckpt.writeTo(store, ggpo);
                writes[i] = System.nanoTime() - t0;
            }
            long bytes;
            try (Stream<Path> files = Files.walk(store.latest().orElseThrow())) {
                bytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            }
            System.out.printf("  checkpoint write (adapter + AdamW + GGPO state, %d KiB, fsynced): p50 %.1f ms  max %.1f ms%n",
                    bytes / 1024, median(writes) / 1e6, Arrays.stream(writes).max().orElse(0) / 1e6);
            trainers.values().forEach(PolicyTrainer::close);
        }
    }

    static int arg(String[] args, int i, int fallback) {
        return args.length > i ? Integer.parseInt(args[i]) : fallback;
    }

    static double median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static double mean(long[] values) {
        return Arrays.stream(values).average().orElse(0);
    }
}
