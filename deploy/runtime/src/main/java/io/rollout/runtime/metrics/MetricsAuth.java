package io.rollout.runtime.metrics;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * Who may read {@code /metrics} of a {@link MetricsHttpServer}: anyone who presents a bearer
 * token ({@link #bearer}), or, without a token, anyone who can reach the address, which is
 * allowed on loopback only unless asked for explicitly ({@link #insecure}). {@code /health}
 * is always open, for liveness and readiness probes; it tells only UP or DOWN.
 */
public final class MetricsAuth {

    private static final MetricsAuth NONE = new MetricsAuth(null, false);
    private static final MetricsAuth INSECURE = new MetricsAuth(null, true);
    private static final String BEARER = "bearer ";

    /** SHA-256 of the token, so a comparison takes the same time whatever the presented length. */
    private final byte[] tokenDigest;
    private final boolean anyAddress;

    private MetricsAuth(byte[] tokenDigest, boolean anyAddress) {
        this.tokenDigest = tokenDigest;
        this.anyAddress = anyAddress;
    }

    /** No token: serves on loopback addresses only (the default). */
    public static MetricsAuth none() {
        return NONE;
    }

    /** No token on any address: an explicit opt-out, e.g. behind a network policy. */
    public static MetricsAuth insecure() {
        return INSECURE;
    }

    /**
     * {@code /metrics} needs {@code Authorization: Bearer <token>}; any address is allowed.
     *
     * @throws IllegalArgumentException if the token is blank or holds whitespace or control
     *     characters, which an HTTP header cannot carry
     */
    public static MetricsAuth bearer(String token) {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("the metrics token is empty");
        }
        if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("the metrics token must be printable ASCII without spaces");
        }
        return new MetricsAuth(sha256(token), true);
    }

    /**
     * What a service's command line asks for: {@link #bearer} if {@code token} is not null,
     * else {@link #insecure} or {@link #none}.
     */
    public static MetricsAuth of(String token, boolean insecure) {
        return token != null ? bearer(token) : insecure ? insecure() : none();
    }

    /** Whether {@code /metrics} asks for a token. */
    public boolean requiresToken() {
        return tokenDigest != null;
    }

    /**
     * Whether a request with this {@code Authorization} header value (null if absent) may read
     * {@code /metrics}. Compares in constant time.
     */
    public boolean permits(String authorization) {
        if (tokenDigest == null) {
            return true;
        }
        if (authorization == null || authorization.length() <= BEARER.length()
                || !authorization.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
            return false;
        }
        return MessageDigest.isEqual(tokenDigest, sha256(authorization.substring(BEARER.length()).strip()));
    }

    /**
     * Refuses to serve without a token on an address other machines can reach, unless
     * {@link #insecure}.
     *
     * @throws IllegalArgumentException naming the address and the two ways out
     */
    void checkAddress(String host) {
        if (anyAddress) {
            return;
        }
        boolean loopback;
        try {
            loopback = InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("cannot resolve the metrics address " + host, e);
        }
        if (!loopback) {
            throw new IllegalArgumentException("refusing to serve /metrics on " + host + " without a token: other "
                    + "machines could read it; give a bearer token (--metrics-auth-token-file FILE), bind to "
                    + "127.0.0.1, or pass --metrics-insecure to serve it unauthenticated");
        }
    }

    @Override
    public String toString() {
        return tokenDigest != null ? "MetricsAuth[bearer token]" : anyAddress ? "MetricsAuth[insecure]"
                : "MetricsAuth[loopback only]";
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
