package io.rollout.schemas.serde;

import io.rollout.records.Step;
import io.rollout.records.Task;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;
import java.util.function.Supplier;

/**
 * What the body check adds to decoding: the check alone against the whole
 * {@link AvroSerde#deserialize} (check included), for a Step of 256 and 2,048 prompt tokens
 * and a Task. Measured in thread CPU time rather than wall time, so that other work on a
 * shared machine does not count; the last of five rounds of 400,000 calls is printed. In
 * this package because the check is package-private. Run (docs/topics-and-records.md):
 * {@code mvn -B -pl schemas -Pbench test-compile exec:exec -Dbench.main=io.rollout.schemas.serde.BodyCheckBenchmark -Dbench.args=}
 */
public final class BodyCheckBenchmark {

    private static final int CALLS = 400_000;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static volatile Object sink;

    private BodyCheckBenchmark() {
    }

    public static void main(String[] args) {
        AvroSerde<Step> steps = AvroSerde.of(Step.class);
        AvroSerde<Task> tasks = AvroSerde.of(Task.class);
        BodyCheck stepCheck = BodyCheck.of(Step.getClassSchema());
        BodyCheck taskCheck = BodyCheck.of(Task.getClassSchema());
        for (int tokens : new int[] {256, 2048}) {
            byte[] step = steps.serialize("bench", SampleRecords.step(new Random(1), tokens, Math.max(16, tokens / 4)));
            report("Step, " + tokens + " prompt tokens, " + step.length + " bytes",
                    () -> stepCheck.problem(step, 10), () -> steps.deserialize("bench", step));
        }
        byte[] task = tasks.serialize("bench", SampleRecords.task());
        report("Task, " + task.length + " bytes", () -> taskCheck.problem(task, 10),
                () -> tasks.deserialize("bench", task));
    }

    private static void report(String what, Supplier<Object> check, Supplier<Object> decode) {
        double checkNs = 0;
        double decodeNs = 0;
        for (int round = 0; round < 5; round++) {
            checkNs = cpuNanosPerCall(check);
            decodeNs = cpuNanosPerCall(decode);
        }
        System.out.printf("%s: check %.0f ns, decode with check %.0f ns (check %.0f%%)%n", what, checkNs, decodeNs,
                100 * checkNs / decodeNs);
    }

    private static double cpuNanosPerCall(Supplier<Object> call) {
        long start = THREADS.getCurrentThreadCpuTime();
        for (int i = 0; i < CALLS; i++) {
            sink = call.get();
        }
        return (THREADS.getCurrentThreadCpuTime() - start) / (double) CALLS;
    }
}
