package io.rollout.env.remote;

import io.rollout.env.Seeds;
import io.rollout.env.remote.RemoteProtocol.WonRule;
import java.net.URI;
import java.net.URISyntaxException;
import io.rollout.runtime.config.Durations;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * One remote environment: where its server is, which dialect it speaks, how long to wait, how
 * often to retry and how a task seed picks the server's task. Immutable; every setting is
 * validated when the spec is built, and an error names the setting.
 *
 * <p>The text form ({@link #parse}, and what {@link #toString} prints) is comma-separated
 * {@code key=value} pairs, e.g.
 * {@code name=alfworld,url=http://127.0.0.1:36001,protocol=agentgym-alfworld,timeout=30s,retries=2,dataset-size=3000}.
 * Keys: {@value #KEYS_DOC}. Durations take a unit: {@code ms}, {@code s} or {@code m}.
 *
 * <p>Longer than most classes because every key of the text form is parsed and checked here, each
 * with its own error message.
 */
public final class RemoteEnvSpec {

    static final String KEYS_DOC = "name, url, protocol (required); timeout, connect-timeout, retries, backoff, "
            + "max-answer-bytes, dataset-size, index-offset, id-field, index-field, won, close, anchor";

    /** What the anchor of an observation is made of. */
    public enum AnchorMode {
        /** The server's observation text. */
        OBSERVATION("observation"),
        /** The observation text plus the sorted admissible actions (tells apart states with equal feedback). */
        OBSERVATION_AND_ACTIONS("observation+actions");

        private final String spelling;

        AnchorMode(String spelling) {
            this.spelling = spelling;
        }

        public String spelling() {
            return spelling;
        }

        static AnchorMode parse(String text) {
            for (AnchorMode mode : values()) {
                if (mode.spelling.equals(text)) {
                    return mode;
                }
            }
            throw new IllegalArgumentException("is not one of [observation, observation+actions]");
        }
    }

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final int DEFAULT_RETRIES = 2;
    public static final Duration DEFAULT_BACKOFF = Duration.ofMillis(200);
    public static final int MAX_RETRIES = 10;
    /** The largest answer taken from the server unless configured: 1 MiB, far above an AgentGym observation. */
    public static final int DEFAULT_MAX_ANSWER_BYTES = 1 << 20;
    public static final int MIN_MAX_ANSWER_BYTES = 1 << 10;
    public static final int MAX_MAX_ANSWER_BYTES = 64 << 20;

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,63}");
    private static final Duration MAX_DURATION = Duration.ofMinutes(30);
    private static final List<String> KEYS = List.of("name", "url", "protocol", "timeout", "connect-timeout",
            "retries", "backoff", "max-answer-bytes", "dataset-size", "index-offset", "id-field", "index-field", "won", "close", "anchor");

    private final String name;
    private final URI url;
    private final RemoteProtocol protocol;
    private final Duration requestTimeout;
    private final Duration connectTimeout;
    private final int retries;
    private final Duration backoff;
    private final int maxAnswerBytes;
    private final OptionalLong datasetSize;
    private final long indexOffset;
    private final AnchorMode anchorMode;

    private RemoteEnvSpec(Builder b) {
        this.name = checkName(b.name);
        this.url = checkUrl(b.url);
        this.protocol = Objects.requireNonNull(b.protocol, "protocol");
        this.requestTimeout = checkDuration("timeout", b.requestTimeout);
        this.connectTimeout = checkDuration("connect-timeout", b.connectTimeout);
        if (b.retries < 0 || b.retries > MAX_RETRIES) {
            throw bad("retries", String.valueOf(b.retries), "must be in [0, " + MAX_RETRIES + "]");
        }
        this.retries = b.retries;
        Objects.requireNonNull(b.backoff, "backoff");
        if (b.backoff.isNegative() || b.backoff.compareTo(MAX_DURATION) > 0) {
            throw bad("backoff", b.backoff.toString(), "must be in [0ms, 30m]");
        }
        this.backoff = b.backoff;
        if (b.maxAnswerBytes < MIN_MAX_ANSWER_BYTES || b.maxAnswerBytes > MAX_MAX_ANSWER_BYTES) {
            throw bad("max-answer-bytes", String.valueOf(b.maxAnswerBytes),
                    "must be in [" + MIN_MAX_ANSWER_BYTES + ", " + MAX_MAX_ANSWER_BYTES + "]");
        }
        this.maxAnswerBytes = b.maxAnswerBytes;
        if (b.datasetSize.isPresent() && (b.datasetSize.getAsLong() < 1 || b.datasetSize.getAsLong() > Seeds.MAX)) {
            throw bad("dataset-size", String.valueOf(b.datasetSize.getAsLong()), "must be in [1, " + Seeds.MAX + "]");
        }
        this.datasetSize = b.datasetSize;
        if (b.indexOffset < 0 || b.indexOffset > Seeds.MAX) {
            throw bad("index-offset", String.valueOf(b.indexOffset), "must be in [0, " + Seeds.MAX + "]");
        }
        this.indexOffset = b.indexOffset;
        this.anchorMode = Objects.requireNonNull(b.anchorMode, "anchorMode");
    }

    /**
     * A builder with the defaults: 30 s timeout, 5 s connect timeout, 2 retries from 200 ms, answers
     * up to 1 MiB, seed passed as index.
     */
    public static Builder builder(String name, String url, RemoteProtocol protocol) {
        return new Builder(name, url, protocol);
    }

    /**
     * Parses the text form, e.g. {@code name=webshop,url=http://127.0.0.1:36006,protocol=agentgym-webshop}.
     *
     * @throws IllegalArgumentException naming the bad, unknown, repeated or missing setting
     */
    public static RemoteEnvSpec parse(String text) {
        Objects.requireNonNull(text, "spec");
        Map<String, String> settings = new LinkedHashMap<>();
        for (String part : text.split(",", -1)) {
            String item = part.strip();
            int eq = item.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("remote environment spec '" + text + "': '" + item
                        + "' is not key=value (keys: " + KEYS_DOC + ")");
            }
            String key = item.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            String value = item.substring(eq + 1).strip();
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("remote environment spec: unknown setting '" + key
                        + "' (keys: " + KEYS_DOC + ")");
            }
            if (settings.put(key, value) != null) {
                throw new IllegalArgumentException("remote environment spec: setting '" + key + "' is given twice");
            }
        }
        for (String required : List.of("name", "url", "protocol")) {
            if (!settings.containsKey(required)) {
                throw new IllegalArgumentException("remote environment spec '" + text + "': setting '" + required
                        + "' is missing");
            }
        }
        String presetName = settings.get("protocol");
        if (!RemoteProtocol.presetNames().contains(presetName)) {
            throw bad("protocol", presetName, "is not one of " + RemoteProtocol.presetNames());
        }
        RemoteProtocol protocol = RemoteProtocol.preset(presetName);
        Builder b = builder(settings.get("name"), settings.get("url"), protocol);
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            switch (key) {
                case "name", "url", "protocol" -> {
                }
                case "timeout" -> b.requestTimeout(parseDuration(key, value));
                case "connect-timeout" -> b.connectTimeout(parseDuration(key, value));
                case "backoff" -> b.backoff(parseDuration(key, value));
                case "retries" -> b.retries((int) parseLong(key, value, MAX_RETRIES));
                case "max-answer-bytes" -> b.maxAnswerBytes((int) parseLong(key, value, MAX_MAX_ANSWER_BYTES));
                case "dataset-size" -> b.datasetSize(parseLong(key, value, Seeds.MAX));
                case "index-offset" -> b.indexOffset(parseLong(key, value, Seeds.MAX));
                case "id-field" -> b.idField(value);
                case "index-field" -> b.indexField(value);
                case "won" -> b.wonRule(parseWith(key, value, WonRule::parse));
                case "close" -> b.closeRoute(parseBoolean(key, value));
                case "anchor" -> b.anchor(parseWith(key, value, AnchorMode::parse));
                default -> throw new IllegalStateException("unhandled key " + key);
            }
        }
        return b.build();
    }

    /** The registered environment name, e.g. {@code alfworld}. */
    public String name() {
        return name;
    }

    /** The server's base URL; routes are appended to it. */
    public URI url() {
        return url;
    }

    /** The effective dialect: the preset with this spec's overrides applied. */
    public RemoteProtocol protocol() {
        return protocol;
    }

    /** How long one HTTP request may take, from connecting to the last byte of the answer. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** Extra attempts after a failed one, for the calls that may be retried. */
    public int retries() {
        return retries;
    }

    /** The wait before the first retry; it doubles for each further retry. */
    public Duration backoff() {
        return backoff;
    }

    /** The largest answer body taken from the server; a larger one fails the call. */
    public int maxAnswerBytes() {
        return maxAnswerBytes;
    }

    /** The number of tasks the server holds, when configured: the index is then {@code seed mod size}. */
    public OptionalLong datasetSize() {
        return datasetSize;
    }

    /** Added to the index, e.g. to start at a split inside the server's task list. */
    public long indexOffset() {
        return indexOffset;
    }

    public AnchorMode anchorMode() {
        return anchorMode;
    }

    /**
     * The server's task index for a seed: {@code index-offset + (seed mod dataset-size)}, or
     * {@code index-offset + seed} without a dataset size.
     *
     * @throws io.rollout.env.EnvInputException SEED_OUT_OF_RANGE for a seed outside [0, 2^53 - 1]
     */
    public long indexFor(long seed) {
        Seeds.check(seed);
        long base = datasetSize.isPresent() ? seed % datasetSize.getAsLong() : seed;
        return indexOffset + base;
    }

    /** The text form; {@link #parse} reads it back to an equal spec. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder()
                .append("name=").append(name)
                .append(",url=").append(url)
                .append(",protocol=").append(protocol.preset())
                .append(",timeout=").append(formatDuration(requestTimeout))
                .append(",connect-timeout=").append(formatDuration(connectTimeout))
                .append(",retries=").append(retries)
                .append(",backoff=").append(formatDuration(backoff))
                .append(",max-answer-bytes=").append(maxAnswerBytes);
        datasetSize.ifPresent(size -> s.append(",dataset-size=").append(size));
        return s.append(",index-offset=").append(indexOffset)
                .append(",id-field=").append(protocol.idField())
                .append(",index-field=").append(protocol.indexField())
                .append(",won=").append(protocol.wonRule().spelling())
                .append(",close=").append(protocol.closeRoute())
                .append(",anchor=").append(anchorMode.spelling())
                .toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RemoteEnvSpec other && toString().equals(other.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /** Builds a {@link RemoteEnvSpec}; {@link #build} validates. */
    public static final class Builder {
        private final String name;
        private final String url;
        private RemoteProtocol protocol;
        private Duration requestTimeout = DEFAULT_TIMEOUT;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private int retries = DEFAULT_RETRIES;
        private Duration backoff = DEFAULT_BACKOFF;
        private int maxAnswerBytes = DEFAULT_MAX_ANSWER_BYTES;
        private OptionalLong datasetSize = OptionalLong.empty();
        private long indexOffset;
        private AnchorMode anchorMode = AnchorMode.OBSERVATION;

        private Builder(String name, String url, RemoteProtocol protocol) {
            this.name = name;
            this.url = url;
            this.protocol = protocol;
        }

        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = timeout;
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = timeout;
            return this;
        }

        public Builder retries(int retries) {
            this.retries = retries;
            return this;
        }

        public Builder backoff(Duration backoff) {
            this.backoff = backoff;
            return this;
        }

        public Builder maxAnswerBytes(int bytes) {
            this.maxAnswerBytes = bytes;
            return this;
        }

        public Builder datasetSize(long size) {
            this.datasetSize = OptionalLong.of(size);
            return this;
        }

        public Builder indexOffset(long offset) {
            this.indexOffset = offset;
            return this;
        }

        public Builder idField(String field) {
            this.protocol = override(() -> protocol.withIdField(field));
            return this;
        }

        public Builder indexField(String field) {
            this.protocol = override(() -> protocol.withIndexField(field));
            return this;
        }

        public Builder wonRule(WonRule rule) {
            this.protocol = protocol.withWonRule(rule);
            return this;
        }

        public Builder closeRoute(boolean close) {
            this.protocol = protocol.withCloseRoute(close);
            return this;
        }

        public Builder anchor(AnchorMode mode) {
            this.anchorMode = mode;
            return this;
        }

        public RemoteEnvSpec build() {
            return new RemoteEnvSpec(this);
        }

        private static RemoteProtocol override(java.util.function.Supplier<RemoteProtocol> apply) {
            try {
                return apply.get();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("remote environment setting " + e.getMessage(), e);
            }
        }
    }

    private static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw bad("name", name, "must match [a-z][a-z0-9_-]* (at most 64 characters)");
        }
        return name;
    }

    private static URI checkUrl(String text) {
        if (text == null || text.isBlank()) {
            throw bad("url", text, "is empty");
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw bad("url", text, "is not a URL: " + e.getMessage());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw bad("url", text, "must start with http:// or https://");
        }
        if (uri.getHost() == null) {
            throw bad("url", text, "has no host");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw bad("url", text, "must not carry a query, a fragment or user info");
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return URI.create(scheme + "://" + uri.getRawAuthority() + path);
    }

    private static Duration checkDuration(String key, Duration d) {
        Objects.requireNonNull(d, key);
        if (d.isNegative() || d.isZero() || d.compareTo(MAX_DURATION) > 0) {
            throw bad(key, formatDuration(d), "must be in (0ms, 30m]");
        }
        return d;
    }

    static Duration parseDuration(String key, String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw bad(key, text, "is not a duration: a whole number with a unit ms, s, m or h, e.g. 500ms or 30s");
        }
    }

    static String formatDuration(Duration d) {
        long millis = d.toMillis();
        if (millis % 60_000 == 0 && millis > 0) {
            return millis / 60_000 + "m";
        }
        if (millis % 1000 == 0 && millis > 0) {
            return millis / 1000 + "s";
        }
        return millis + "ms";
    }

    private static long parseLong(String key, String text, long max) {
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw bad(key, text, "is not an integer");
        }
        if (value < 0 || value > max) {
            throw bad(key, text, "must be in [0, " + max + "]");
        }
        return value;
    }

    private static boolean parseBoolean(String key, String text) {
        return switch (text) {
            case "true" -> true;
            case "false" -> false;
            default -> throw bad(key, text, "must be true or false");
        };
    }

    private static <T> T parseWith(String key, String text, java.util.function.Function<String, T> parser) {
        try {
            return parser.apply(text);
        } catch (IllegalArgumentException e) {
            throw bad(key, text, e.getMessage());
        }
    }

    private static IllegalArgumentException bad(String key, String value, String why) {
        return new IllegalArgumentException("remote environment setting " + key + "='" + value + "' " + why);
    }
}
