package io.rollout.env.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rollout.env.api.SessionCreated;
import io.rollout.env.client.EnvClient;
import io.rollout.env.client.EnvRequestException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvServiceCommandTest {

    @Test
    void shouldServeStandaloneUntilSigterm() throws Exception {
        Path stderr = Files.createTempFile("env-service-", ".stderr");
        Process process = serve(stderr, "--port", "0", "--session-ttl", "1m");
        try {
            String url = awaitUrl(process, stderr);

            EnvClient client = EnvClient.create(url, Duration.ofSeconds(2), Duration.ofSeconds(10));
            SessionCreated session = client.createSession("household", 1, Map.of("receptacles", "4"));
            assertThat(client.step(session.session(), "look").actionValid()).isTrue();
            assertThat(client.environments()).extracting(e -> e.name()).contains("sokoban", "household");

            process.destroy();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("stops on SIGTERM").isTrue();
        } finally {
            process.destroyForcibly();
            Files.deleteIfExists(stderr);
        }
    }

    @Test
    void shouldDemandTheTokenFromAFileAndNeverShowIt(@TempDir Path dir) throws Exception {
        String token = "c0ffee00deadbeef0123456789abcdef";
        Path tokenFile = Files.writeString(dir.resolve("token"), token + "\n");
        Path stderr = dir.resolve("stderr");
        Process process = serve(stderr, "--port", "0", "--auth-token-file", tokenFile.toString());
        try {
            String url = awaitUrl(process, stderr);
            // What ps shows (Linux): the file's path, never the token.
            Path cmdline = Path.of("/proc", Long.toString(process.pid()), "cmdline");
            if (Files.isReadable(cmdline)) {
                assertThat(Files.readString(cmdline, StandardCharsets.ISO_8859_1).split("\0"))
                        .contains(tokenFile.toString()).noneSatisfy(a -> assertThat(a).contains(token));
            }

            try (EnvClient client = EnvClient.builder(url).authTokenFile(tokenFile).build();
                    EnvClient anonymous = EnvClient.create(url, Duration.ofSeconds(2), Duration.ofSeconds(10))) {
                assertThat(client.environments()).isNotEmpty();
                assertThatThrownBy(anonymous::environments).isInstanceOfSatisfying(EnvRequestException.class,
                        e -> assertThat(e.status()).isEqualTo(401));
            }
            process.destroy();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(stderr)).contains("refused GET /v1/envs").doesNotContain(token);
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void shouldRefuseANonLoopbackHostWithoutAToken(@TempDir Path dir) {
        assertUsageError(run("serve", "--host", "0.0.0.0", "--port", "0"),
                "host 0.0.0.0 is not a loopback address, so the service needs a bearer token (--auth-token-file FILE)");
        assertUsageError(run("serve", "--auth-token-file", dir.resolve("nothing").toString()),
                "cannot read the auth token file " + dir.resolve("nothing"));
        assertUsageError(run("serve", "--max-observation", "10"), "max observation must be at least 1024 bytes");
        Result help = run("serve", "--help");
        assertThat(help.out).contains("--auth-token-file=FILE", "--insecure-no-auth", "--max-observation=BYTES",
                "ENV_SERVICE_AUTH_TOKEN_FILE", "UNSAFE");
    }

    @Test
    void shouldRejectBadFlagsInOneLine() {
        assertUsageError(run("serve", "--max-sessions", "0"), "--max-sessions must be >= 1");
        assertUsageError(run("serve", "--session-ttl", "forever"), "'forever' is not a duration");
        assertUsageError(run("serve", "--port", "-3"), "port must be in 0..65535");
        assertUsageError(run("serve", "--remote", "name=alfworld"), "--remote:");
        assertUsageError(run("serve", "--bogus"), "Unknown option: '--bogus'");
    }

    @Test
    void shouldMeasureHowHardARangeOfLevelsIs() {
        Result result = run("levels", "--levels", "40", "--random-episodes", "5", "--env-config", "player_walk=3",
                "--env-config", "min_solution=3");

        assertThat(result.code).as(result.err).isZero();
        assertThat(result.out).contains("levels=40 seeds=1000000000-1000000039",
                "player_walk=3", "min_solution=3", "shortest solution: mean ", "random mover: success ");
        assertThat(result.out).containsPattern("moves:levels( \\d+:\\d+)+\n");
        assertThat(result.out).doesNotContainPattern("moves:levels.* [12]:");
        assertUsageError(run("levels", "--env-config", "min_solution=20"), "min_solution=20 exceeds max_steps=15");
        assertUsageError(run("levels", "--levels", "0"), "--levels must be >= 1");
    }

    private static Process serve(Path stderr, String... flags) throws IOException {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", classpath, EnvServiceCommand.class.getName(), "serve"));
        command.addAll(List.of(flags));
        return new ProcessBuilder(command).redirectError(stderr.toFile()).start();
    }

    private static String awaitUrl(Process process, Path stderr) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String url = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith("listening=")) {
                        return line.substring("listening=".length());
                    }
                }
                return null;
            } catch (Exception e) {
                return null;
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(url).as(Files.readString(stderr)).startsWith("http://127.0.0.1:");
        return url;
    }

    private static void assertUsageError(Result result, String message) {
        assertThat(result.code).isEqualTo(2);
        assertThat(result.err.lines().findFirst()).hasValueSatisfying(l -> assertThat(l).startsWith("error: ").contains(message));
        assertThat(result.err).doesNotContain("\tat ");
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = EnvServiceCommand.commandLine().setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true))
                .execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private record Result(int code, String out, String err) {
    }
}
