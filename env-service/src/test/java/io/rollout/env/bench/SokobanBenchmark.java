package io.rollout.env.bench;

import io.rollout.env.StepResult;
import io.rollout.env.sokoban.SokobanConfig;
import io.rollout.env.sokoban.SokobanEnvironment;
import io.rollout.env.sokoban.SokobanGenerator;
import io.rollout.env.sokoban.SokobanLevel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Sokoban throughput: levels generated per second (default config, a new seed each call, so
 * the retries of hard seeds are in the average) and in-process steps per second (a fixed
 * action cycle on one generated level, starting over when the episode ends). Each JMH thread
 * has its own state, as each environment session would. Run with
 * {@code org.openjdk.jmh.Main SokobanBenchmark}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
public class SokobanBenchmark {

    // Model-like texts: mostly one direction, some reasoning, one with no direction at all.
    private static final String[] ACTIONS = {
        "<action>up</action>",
        "right",
        "I should push the box. <action>Down</action>",
        "left",
        "hmm, not sure",
        "Right",
        "up",
        "<think>left is a wall</think><action>down</action>",
    };

    private final SokobanGenerator generator = new SokobanGenerator();
    private final SokobanEnvironment env = new SokobanEnvironment();
    private final SokobanConfig config = SokobanConfig.defaults();
    private SokobanLevel level;
    private long seed;
    private int action;

    @Setup
    public void setUp() {
        level = generator.generate(42, config);
        env.start(level, config.maxSteps());
    }

    @Benchmark
    public SokobanLevel generateLevel() {
        return generator.generate(seed++, config);
    }

    @Benchmark
    public StepResult step() {
        if (env.isDone()) {
            env.start(level, config.maxSteps());
        }
        StepResult result = env.step(ACTIONS[action]);
        action = (action + 1) % ACTIONS.length;
        return result;
    }
}
