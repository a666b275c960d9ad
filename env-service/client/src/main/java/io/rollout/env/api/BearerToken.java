package io.rollout.env.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;
import java.util.Objects;

/**
 * The shared secret of env-service's bearer-token authentication ({@code Authorization: Bearer
 * TOKEN}). It is read from a file, so it never shows on a command line; {@link #toString} never
 * prints it, and no error message quotes it. {@link #matches} takes the same time wherever a
 * guess goes wrong.
 */
public final class BearerToken {

    /** Fewest characters a token may have; {@code openssl rand -hex 32} makes 64. */
    public static final int MIN_LENGTH = 16;
    public static final int MAX_LENGTH = 4096;
    private static final String SCHEME = "bearer ";

    private final String token;
    private final byte[] digest;

    private BearerToken(String token) {
        this.token = token;
        this.digest = sha256(token);
    }

    /**
     * A token from its text: {@value #MIN_LENGTH} to {@value #MAX_LENGTH} visible ASCII characters.
     *
     * @throws IllegalArgumentException saying what is wrong, without the token
     */
    public static BearerToken of(String token) {
        Objects.requireNonNull(token, "token");
        if (token.length() < MIN_LENGTH || token.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("the auth token has " + token.length() + " characters; it needs "
                    + MIN_LENGTH + " to " + MAX_LENGTH + " (make one with: openssl rand -hex 32)");
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                throw new IllegalArgumentException("the auth token may hold only visible ASCII characters; "
                        + "character " + (i + 1) + " is not one");
            }
        }
        return new BearerToken(token);
    }

    /**
     * The token in {@code file}: its whole text without surrounding white space (so a final newline
     * does not count).
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or holds no valid token
     */
    public static BearerToken fromFile(Path file) {
        Objects.requireNonNull(file, "file");
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_LENGTH + 1024);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the auth token file " + file + ": " + e, e);
        }
        try {
            return of(new String(bytes, StandardCharsets.US_ASCII).strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("auth token file " + file + ": " + e.getMessage(), e);
        }
    }

    /** The value of an {@code Authorization} header that carries this token. */
    public String authorization() {
        return "Bearer " + token;
    }

    /** Whether an {@code Authorization} header value carries this token (the scheme name in any case). */
    public boolean matches(String authorization) {
        if (authorization == null || authorization.length() < SCHEME.length()
                || !authorization.substring(0, SCHEME.length()).toLowerCase(Locale.ROOT).equals(SCHEME)) {
            return false;
        }
        // Equal-length digests: the comparison time says nothing about the token or its length.
        return MessageDigest.isEqual(digest, sha256(authorization.substring(SCHEME.length()).strip()));
    }

    /** Redacted: a token never reaches a log line through its string form. */
    @Override
    public String toString() {
        return "BearerToken[redacted]";
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
