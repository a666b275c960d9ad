package io.rollout.policy;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** DJL engine set-up shared by everything that touches the model. */
public final class Engines {

    /** The system property DJL's PyTorch engine sizes its intra-op thread pool from when it loads. */
    public static final String INTRA_OP_THREADS = "ai.djl.pytorch.num_threads";
    /** The same for its inter-op pool. */
    public static final String INTER_OP_THREADS = "ai.djl.pytorch.num_interop_threads";

    private Engines() {}

    /**
     * Sizes PyTorch's thread pools for a process whose {@code callers} threads each run the
     * model at once, unless the user set {@link #INTRA_OP_THREADS} (a {@code -D} flag or
     * {@code JAVA_TOOL_OPTIONS}): {@code threads} intra-op threads, or with 0 the cores divided
     * by {@code callers} (at least 1), and one inter-op thread. libtorch's default, every core
     * for every op, makes concurrent callers oversubscribe the cores. Takes effect only if
     * called before the engine loads.
     *
     * @return the intra-op threads asked for (a value the user set is returned as given); what the
     *     engine runs with is {@link #intraOpThreads()}
     */
    public static String threads(int threads, int callers) {
        if (threads < 0 || callers < 1) {
            throw new IllegalArgumentException("threads must be >= 0 and callers >= 1, got " + threads + " and " + callers);
        }
        String given = System.getProperty(INTRA_OP_THREADS);
        if (given != null) {
            return given;
        }
        int n = threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / callers);
        System.setProperty(INTRA_OP_THREADS, String.valueOf(n));
        if (System.getProperty(INTER_OP_THREADS) == null) {
            System.setProperty(INTER_OP_THREADS, "1");
        }
        return String.valueOf(n);
    }

    /**
     * Runs DJL offline (no model-zoo or native-library downloads: the CPU libtorch comes from
     * the pytorch-native-cpu jar, a GPU one from {@code PYTORCH_LIBRARY_PATH}) unless the
     * user set {@code ai.djl.offline} already, with PyTorch as the default engine.
     */
    public static void configure() {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        // The tokenizers jar registers an engine of its own; arrays must come from PyTorch.
        if (System.getProperty("ai.djl.default_engine") == null) {
            System.setProperty("ai.djl.default_engine", "PyTorch");
        }
    }

    /** PyTorch's intra-op threads as the engine runs with them (loads the engine). */
    public static int intraOpThreads() {
        configure();
        Engine.getEngine("PyTorch");
        return ai.djl.pytorch.jni.JniUtils.getNumThreads();
    }

    /**
     * The device named by configuration: {@code cpu}, {@code gpu} (= gpu:0) or {@code gpu:N}.
     *
     * @throws IllegalArgumentException for any other name, or a GPU the engine does not see
     */
    public static Device device(String name) {
        configure();
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("cpu")) {
            return Device.cpu();
        }
        int id;
        if (n.equals("gpu") || n.equals("cuda")) {
            id = 0;
        } else if (n.matches("(gpu|cuda):\\d+")) {
            id = Integer.parseInt(n.substring(n.indexOf(':') + 1));
        } else {
            throw new IllegalArgumentException("unknown device \"" + name + "\" (use cpu, gpu or gpu:N)");
        }
        int gpus = Engine.getEngine("PyTorch").getGpuCount();
        if (id >= gpus) {
            throw new IllegalArgumentException("device " + name + " requested but the PyTorch engine sees " + gpus
                    + " GPU(s); a GPU needs a CUDA libtorch " + "(set PYTORCH_LIBRARY_PATH and PYTORCH_VERSION)");
        }
        return Device.gpu(id);
    }
}
