package io.rollout.policy;

import io.rollout.policy.tiny.TinyModelSpec;
import io.rollout.policy.tiny.TinyModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Tiny models for tests, written once per JVM into a temporary directory. */
public final class TinyPolicies {

    public static final List<String> WORDS = List.of("the", "box", "is", "on", "a", "target", "move", "up", "down",
            "left", "right", "wall", "player", "you", "win", "lose", "#", "@", "$", ".", "?", "!", "go", "to");

    private static Path tied;
    private static Path untied;

    private TinyPolicies() {}

    /** The default tiny model (tied embeddings), seed 7. */
    public static synchronized Path tied() {
        if (tied == null) {
            tied = write("tied", TinyModelSpec.defaults(), 7);
        }
        return tied;
    }

    /** An untied variant with three layers, seed 11. */
    public static synchronized Path untied() {
        if (untied == null) {
            untied = write("untied", TinyModelSpec.defaults().withTiedEmbeddings(false).withLayers(3), 11);
        }
        return untied;
    }

    /** The process's resident memory (VmRSS), for tests that native memory does not grow. */
    public static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    public static Path write(String name, TinyModelSpec spec, long seed) {
        try {
            Path dir = Files.createTempDirectory("tiny-" + name);
            dir.toFile().deleteOnExit();
            TinyModels.write(dir, spec, WORDS, seed);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
