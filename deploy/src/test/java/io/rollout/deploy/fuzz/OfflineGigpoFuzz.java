package io.rollout.deploy.fuzz;

import io.rollout.learner.gigpo.GigpoConfig;
import io.rollout.learner.gigpo.offline.MalformedLineException;
import io.rollout.learner.gigpo.offline.OfflineGigpo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A JSONL file of steps given to the offline {@code gigpo} command. The only allowed failure
 * is {@link MalformedLineException} (the command's exit 65 with the line number).
 */
public final class OfflineGigpoFuzz {

    private static final OfflineGigpo GIGPO = new OfflineGigpo(GigpoConfig.defaults(), 1);
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("gigpo-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private OfflineGigpoFuzz() {
    }

    public static void fuzzerTestOneInput(byte[] data) throws IOException {
        Path in = DIR.resolve("in.jsonl");
        Files.write(in, data);
        try {
            GIGPO.run(in, DIR.resolve("out.jsonl"));
        } catch (MalformedLineException expected) {
            // a line that is not a step: reported with its number
        }
    }
}
