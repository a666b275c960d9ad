package io.rollout.deploy.fuzz;

import io.rollout.policy.ModelFormatException;
import io.rollout.policy.safetensors.SafetensorsFile;
import java.nio.file.Path;

/**
 * A safetensors file as it arrives from disk or from policy.weights: its header is parsed and
 * every entry looked up. The only allowed failure is {@link ModelFormatException}.
 */
public final class SafetensorsFuzz {

    private static final Path NAME = Path.of("<fuzz>");

    private SafetensorsFuzz() {
    }

    public static void fuzzerTestOneInput(byte[] data) {
        try {
            SafetensorsFile file = SafetensorsFile.of(data, NAME);
            file.metadata().size();
            for (String name : file.names()) {
                SafetensorsFile.Entry e = file.entry(name);
                if (e.begin() < 0 || e.end() < e.begin()) {
                    throw new IllegalStateException("entry " + name + " spans " + e.begin() + ".." + e.end());
                }
            }
        } catch (ModelFormatException expected) {
            // the documented answer to a file that is not safetensors
        }
    }
}
