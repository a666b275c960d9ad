package io.rollout.runtime.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The flags of every command that loads the policy model ({@code @Mixin}): its directory, the
 * device and the number type, all {@link FromEnv}. {@code --model} has no default and is not
 * required by picocli, since its environment variable may give it: a command checks
 * {@link #model()} itself.
 */
public final class ModelOptions {

    @FromEnv
    @Option(names = "--model", paramLabel = "DIR",
            description = "Base model: a Hugging Face directory (config.json, model.safetensors or shards, tokenizer.json).")
    private Path model;

    @FromEnv
    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
            description = "cpu, gpu or gpu:N (default: ${DEFAULT-VALUE}).")
    private String device;

    @FromEnv
    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "auto",
            description = "auto (= float32), float32, float16 or float64 (default: ${DEFAULT-VALUE}).")
    private String dtype;

    /** The model directory, or null when none was given. */
    public Path model() {
        return model;
    }

    public String device() {
        return device;
    }

    public String dtype() {
        return dtype;
    }
}
