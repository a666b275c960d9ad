package io.rollout.learner.trainer;

import io.rollout.policy.Policy;
import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The default tiny model, written once per test JVM, and seeded batches for it. */
public final class TinyModel {

    private static Path dir;

    private TinyModel() {}

    public static synchronized Path dir() {
        if (dir == null) {
            try {
                dir = Files.createTempDirectory("learner-tiny");
                dir.toFile().deleteOnExit();
                TinyModels.write(dir, TinyModelSpec.defaults(), TinyModels.defaultWords(), 5);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return dir;
    }

    public static Policy load() {
        return Policy.load(dir());
    }

    /** {@code n} random sequences over the first {@code vocab} ids, old log-probs -3, one advantage. */
    public static List<TrainingSequence> batch(int n, int vocab, float advantage, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TrainingSequence> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] prompt = random.ints(4 + random.nextInt(4), 0, vocab).toArray();
            int[] response = random.ints(2 + random.nextInt(4), 0, vocab).toArray();
            float[] old = new float[response.length];
            java.util.Arrays.fill(old, -3f);
            out.add(new TrainingSequence(prompt, response, old, advantage));
        }
        return out;
    }
}
