package io.rollout.runtime.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The metrics access flags every service shares ({@code @Mixin}): a bearer token read from a
 * file, never given on the command line, and the explicit opt-out for serving
 * {@code /metrics} unauthenticated beyond loopback.
 */
public final class MetricsAuthOptions {

    @Option(names = "--metrics-auth-token-file", paramLabel = "FILE", defaultValue = "${env:METRICS_AUTH_TOKEN_FILE}",
            description = "/metrics then needs 'Authorization: Bearer TOKEN', TOKEN being the first line of FILE; "
                    + "/health stays open (env METRICS_AUTH_TOKEN_FILE).")
    private Path tokenFile;

    @Option(names = "--metrics-insecure", defaultValue = "${env:METRICS_INSECURE:-false}",
            description = "Serve /metrics without a token on a non-loopback --metrics-host, which is refused "
                    + "otherwise (env METRICS_INSECURE).")
    private boolean insecure;

    /**
     * The access the flags ask for.
     *
     * @throws IllegalArgumentException if the token file cannot be read or holds no token; the
     *     message names the file, never its content
     */
    public MetricsAuth auth() {
        return MetricsAuth.of(tokenFile == null ? null : readToken(tokenFile), insecure);
    }

    /** The first line of {@code file}, without its line terminator. */
    public static String readToken(Path file) {
        String content;
        try {
            content = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("--metrics-auth-token-file: cannot read " + file + " ("
                    + e.getClass().getSimpleName() + ")", e);
        }
        String token = content.lines().findFirst().orElse("");
        if (token.isBlank()) {
            throw new IllegalArgumentException("--metrics-auth-token-file: " + file + " is empty; its first line is the token");
        }
        return token;
    }
}
