package io.rollout.deploy.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import io.rollout.records.DroppedGroup;
import io.rollout.records.DropReason;
import io.rollout.records.LoraConfig;
import io.rollout.records.Task;
import io.rollout.records.WeightManifest;
import io.rollout.schemas.serde.AvroSerde;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fuzz targets of the pipeline's parsers of outside input, run two ways:
 * <ul>
 * <li>every input kept in {@code src/test/resources/fuzz/<Target>/} (findings once fixed, and
 * seeds) is replayed in this JVM: a regression test;</li>
 * <li>each target is fuzzed by Jazzer (coverage-guided, libFuzzer) in a child JVM with a fixed
 * seed for a fixed number of runs, from seeds written here and the kept inputs; a finding fails
 * the test with the input's path. {@code -Dfuzz.seconds=600} fuzzes each target for that long
 * instead (docs/reliability.md).</li>
 * </ul>
 */
class FuzzTargetsTest {

    /** A target and the runs it gets in a bounded (CI) run: executions cost from a microsecond to a millisecond. */
    record Target(Class<?> type, int runs) {
        @Override
        public String toString() {
            return type.getSimpleName();
        }
    }

    static Stream<Target> targets() {
        return Stream.of(new Target(AvroRecordsFuzz.class, 200_000), new Target(SafetensorsFuzz.class, 200_000),
                new Target(OfflineGigpoFuzz.class, 10_000), new Target(EnvRequestsFuzz.class, 10_000),
                new Target(WeightChunksFuzz.class, 200_000));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void shouldSurviveEveryKeptInput(Target target) throws Throwable {
        Method fuzz = target.type().getMethod("fuzzerTestOneInput", byte[].class);
        List<Path> kept = kept(target);
        for (Path input : kept) {
            try {
                fuzz.invoke(null, (Object) Files.readAllBytes(input));
            } catch (InvocationTargetException e) {
                throw new AssertionError("kept input " + input + " fails " + target, e.getCause());
            }
        }
        for (byte[] seed : seeds(target.type())) {
            try {
                fuzz.invoke(null, (Object) seed);
            } catch (InvocationTargetException e) {
                throw new AssertionError("a seed of " + target + " fails", e.getCause());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void shouldSurviveBoundedFuzzing(Target target) throws Exception {
        Path work = Path.of("target", "fuzz", target.toString()).toAbsolutePath();
        Path corpus = work.resolve("corpus");
        Files.createDirectories(corpus);
        int n = 0;
        for (byte[] seed : seeds(target.type())) {
            Files.write(corpus.resolve("seed-" + n++), seed);
        }
        for (Path input : kept(target)) {
            Files.copy(input, corpus.resolve("kept-" + input.getFileName()),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        long seconds = Long.getLong("fuzz.seconds", 0);
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-XX:+UseSerialGC",
                "-cp", classpath, "com.code_intelligence.jazzer.Jazzer", "--target_class=" + target.type().getName(),
                "--instrumentation_includes=io.rollout.**:org.apache.avro.**", "--reproducer_path=" + work,
                "-seed=1", "-rss_limit_mb=4096", "-timeout=30", "-artifact_prefix=" + work + "/",
                seconds > 0 ? "-max_total_time=" + seconds : "-runs=" + target.runs(), corpus.toString()));
        Path log = work.resolve("jazzer.log");
        Process jazzer = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean exited = jazzer.waitFor(seconds > 0 ? seconds + 300 : 600, TimeUnit.SECONDS);
        if (!exited) {
            jazzer.destroyForcibly().waitFor();
        }
        String output = Files.readString(log);
        assertThat(exited).as("Jazzer finished; log %s", log).isTrue();
        assertThat(jazzer.exitValue()).as("%s: a finding (input and reproducer in %s):%n%s", target, work,
                tail(output)).isZero();
    }

    private static String tail(String output) {
        String[] lines = output.split("\n");
        return String.join("\n", Arrays.copyOfRange(lines, Math.max(0, lines.length - 40), lines.length));
    }

    /** Inputs kept in src/test/resources/fuzz/TARGET/: findings once fixed, and seeds. */
    static List<Path> kept(Target target) throws IOException, URISyntaxException {
        URL dir = FuzzTargetsTest.class.getResource("/fuzz/" + target);
        if (dir == null) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            return files.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** Well-formed inputs, so the fuzzer starts from what the parsers accept. */
    static List<byte[]> seeds(Class<?> target) {
        List<byte[]> seeds = new ArrayList<>();
        if (target == AvroRecordsFuzz.class) {
            Task task = Task.newBuilder().setGroupId("run-00000001").setEnv("sokoban").setEnvConfig(Map.of("dim", "6"))
                    .setSeed(5).setGroupSize(4).setMaxSteps(20).setAttempt(0).setPolicyVersion(3)
                    .setCreatedAtMs(1).build();
            DroppedGroup drop = DroppedGroup.newBuilder().setGroupId("run-00000001").setAttempt(1)
                    .setReason(DropReason.TIMEOUT).setEpisodesFinished(2).setGroupSize(4).setDroppedAtMs(2).build();
            WeightManifest manifest = WeightManifest.newBuilder().setAdapter("policy").setVersion(7).setChunkCount(2)
                    .setTotalBytes(10).setSha256("00").setCreatedAtMs(3).setLora(LoraConfig.newBuilder()
                            .setBaseModel("tiny").setRank(4).setAlpha(8).setDropout(0)
                            .setTargetModules(List.of("q_proj")).build()).build();
            seeds.add(body(0, AvroSerde.of(Task.class).serialize("t", task)));
            seeds.add(body(3, AvroSerde.of(DroppedGroup.class).serialize("t", drop)));
            seeds.add(body(4, AvroSerde.of(WeightManifest.class).serialize("t", manifest)));
        } else if (target == WeightChunksFuzz.class) {
            // two chunks of version 3 (indexes 0 and 1, 3 bytes each), then its manifest with the true sha
            seeds.add(new byte[] {0x20, 3, 'a', 'b', 'c', 0x24, 3, 'd', 'e', 'f', 0x01, 3});
        } else if (target == SafetensorsFuzz.class) {
            byte[] header = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
                    .getBytes(StandardCharsets.UTF_8);
            byte[] file = new byte[8 + header.length + 8];
            java.nio.ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header);
            seeds.add(file);
        } else if (target == OfflineGigpoFuzz.class) {
            seeds.add(("{\"group\":\"g\",\"episode\":\"0\",\"t\":0,\"anchor\":\"s0\",\"reward\":0.0,\"valid\":true}\n"
                    + "{\"group\":\"g\",\"episode\":\"0\",\"t\":1,\"anchor\":\"s1\",\"reward\":1.0,\"valid\":true}\n"
                    + "{\"group\":\"g\",\"episode\":\"1\",\"t\":0,\"anchor\":\"s0\",\"reward\":0.0,\"valid\":false}\n")
                    .getBytes(StandardCharsets.UTF_8));
        } else if (target == EnvRequestsFuzz.class) {
            seeds.add("{\"env\":\"sokoban\",\"seed\":3,\"config\":{\"max_steps\":\"4\"}}\0{\"action\":\"up\"}\0{\"action\":\"Left.\"}"
                    .getBytes(StandardCharsets.UTF_8));
            seeds.add(("{\"env\":\"household\",\"seed\":1,\"config\":{}}\0{\"action\":\"go to table 1\"}\0"
                    + "{\"action\":\"take apple 1 from table 1\"}").getBytes(StandardCharsets.UTF_8));
        }
        return seeds;
    }

    /** The fuzz input for AvroRecordsFuzz's serde {@code index}, with the header added by the target. */
    private static byte[] body(int index, byte[] encoded) {
        byte[] out = new byte[1 + encoded.length - 10];
        out[0] = (byte) (index * 2 + 1);
        System.arraycopy(encoded, 10, out, 1, encoded.length - 10);
        return out;
    }
}
