package io.rollout.schemas.serde;

import io.rollout.records.Step;
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
 * What the body check adds to decoding a Step: the check alone against the whole
 * {@link AvroSerde#deserialize} (check included). In this package because the check is
 * package-private. Run: see docs/benchmarks.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class BodyCheckBenchmark {

    /** Prompt tokens; the response has a quarter as many (at least 16). */
    @Param({"256", "2048"})
    public int promptTokens;

    private final AvroSerde<Step> serde = AvroSerde.of(Step.class);
    private final BodyCheck check = BodyCheck.of(Step.getClassSchema());
    private byte[] payload;

    @Setup
    public void setUp() {
        payload = serde.serialize("bench", SampleRecords.step(new Random(1), promptTokens, Math.max(16, promptTokens / 4)));
    }

    @Benchmark
    public String check() {
        return check.problem(payload, 10);
    }

    @Benchmark
    public Step decode() {
        return serde.deserialize("bench", payload);
    }
}
