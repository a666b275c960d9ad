package io.rollout.env.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.api.ApiError;
import io.rollout.env.api.ApiJson;
import io.rollout.env.api.BearerToken;
import io.rollout.env.api.CloseSessionsAnswer;
import io.rollout.env.api.CloseSessionsRequest;
import io.rollout.env.api.CreateSessionRequest;
import io.rollout.env.api.CreateSessionsAnswer;
import io.rollout.env.api.CreateSessionsRequest;
import io.rollout.env.api.EnvInfo;
import io.rollout.env.api.ResetRequest;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.api.StepBatchAnswer;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.api.StepRequest;
import java.io.EOFException;
import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the env-service HTTP API. One instance holds one pool of kept-alive
 * connections; share it between threads and close it when done. No call is retried, because
 * a step is not idempotent. Failures, by type:
 * <ul>
 *   <li>{@link EnvUnavailableException} (an {@link EnvInfrastructureException}): the service
 *       could not be reached or did not answer within the request timeout; back off;</li>
 *   <li>{@link EnvInfrastructureException}: a 5xx, a malformed answer, or an answer over the
 *       size bound; an actor ends the episode as an infrastructure error;</li>
 *   <li>{@link EnvSessionLostException} (an {@link EnvRequestException}): the service no longer
 *       knows the session, typically because it restarted; re-create it or drop the group;</li>
 *   <li>{@link EnvRequestException}: any other 4xx, the caller's mistake.</li>
 * </ul>
 */
public final class EnvClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EnvClient.class);
    private static final ObjectMapper JSON = ApiJson.lenient();

    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
    /** Answers above this are refused: an observation that large would not fit a Kafka record anyway. */
    public static final int DEFAULT_MAX_ANSWER_BYTES = HttpTransport.DEFAULT_MAX_BODY_BYTES;

    /** Kept-alive connections idle longer than this are not reused (below the server's 30 s). */
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(15);

    private final URI base;
    private final String pathPrefix;
    private final HttpTransport transport;

    private EnvClient(URI base, HttpTransport transport) {
        this.base = base;
        this.pathPrefix = base.getRawPath() == null ? "" : base.getRawPath();
        this.transport = transport;
    }

    /**
     * A client without authentication and with the default answer bound; see {@link #builder} for more.
     *
     * @param baseUrl        e.g. {@code http://127.0.0.1:8080}
     * @param connectTimeout bound on opening a connection
     * @param requestTimeout bound on each call, from sending to the whole answer
     */
    public static EnvClient create(String baseUrl, Duration connectTimeout, Duration requestTimeout) {
        return builder(baseUrl).connectTimeout(connectTimeout).requestTimeout(requestTimeout).build();
    }

    /** A builder for a client of the service at {@code baseUrl}, e.g. {@code https://env.internal:8080}. */
    public static Builder builder(String baseUrl) {
        return new Builder(baseUrl);
    }

    public String baseUrl() {
        return base.toString();
    }

    public List<EnvInfo> environments() {
        return send("GET", "/v1/envs", null, EnvInfo.Listing.class).envs();
    }

    /** Opens a session and starts its first episode. */
    public SessionCreated createSession(String env, long seed, Map<String, String> config) {
        return send("POST", "/v1/sessions", new CreateSessionRequest(env, seed, Map.copyOf(config)), SessionCreated.class);
    }

    /** Starts a new episode in an open session. */
    public Observation reset(String session, long seed, Map<String, String> config) {
        return send("POST", "/v1/sessions/" + session + "/reset", new ResetRequest(seed, Map.copyOf(config)),
                Observation.class);
    }

    public StepResult step(String session, String action) {
        return send("POST", "/v1/sessions/" + session + "/step", new StepRequest(action), StepResult.class);
    }

    /**
     * Applies one action in each of several sessions in one request ({@code POST /v1/steps}).
     * The outcomes come in the order of {@code steps}; each holds the result or the exception
     * {@link #step} would have thrown for that session, so one failing session leaves the others'
     * results intact. A failure of the request as a whole (the service unreachable or too slow,
     * a 5xx, a refused batch, an answer over the size bound) is thrown as by {@link #step}; then
     * whether any of the steps was applied is unknown. Not retried, like every call.
     *
     * @param steps 1 to {@link StepBatchRequest#MAX_STEPS} items, at most one per session
     * @throws IllegalArgumentException for no items or more than {@link StepBatchRequest#MAX_STEPS}, before sending
     */
    public List<StepOutcome> stepAll(List<StepBatchRequest.Item> steps) {
        if (steps.isEmpty() || steps.size() > StepBatchRequest.MAX_STEPS) {
            throw new IllegalArgumentException("a step batch takes 1 to " + StepBatchRequest.MAX_STEPS + " items, got "
                    + steps.size());
        }
        String path = "/v1/steps";
        List<StepBatchAnswer.Item> answers = send("POST", path, new StepBatchRequest(List.copyOf(steps)),
                StepBatchAnswer.class).results();
        if (answers == null || answers.size() != steps.size()) {
            throw new EnvInfrastructureException("env-service POST " + base + path + " answered "
                    + (answers == null ? "no results" : answers.size() + " results") + " for " + steps.size() + " steps");
        }
        List<StepOutcome> outcomes = new ArrayList<>(answers.size());
        for (int i = 0; i < answers.size(); i++) {
            StepBatchAnswer.Item answer = answers.get(i);
            String session = steps.get(i).session();
            if (answer == null || !session.equals(answer.session())) {
                throw new EnvInfrastructureException("env-service POST " + base + path + " answered item " + i
                        + " for another session than " + session);
            }
            if (answer.status() == 200 && answer.result() != null) {
                outcomes.add(StepOutcome.of(session, answer.result()));
            } else if (answer.status() >= 300 && answer.error() != null) {
                outcomes.add(StepOutcome.failed(session, failure(answer.status(), answer.error(),
                        "env-service POST " + base + path + " for session " + session)));
            } else {
                throw new EnvInfrastructureException("env-service POST " + base + path + " answered item " + i
                        + " with status " + answer.status() + " and no " + (answer.status() == 200 ? "result" : "error"));
            }
        }
        return outcomes;
    }

    /**
     * Opens several sessions in one request ({@code POST /v1/sessions/batch}). The outcomes come
     * in the order of {@code sessions}; each holds the new session or the exception
     * {@link #createSession} would have thrown for that item (an item answered 503
     * {@code batch_answer_full} was not created: an {@link EnvUnavailableException} of that kind).
     * A failure of the request as a whole is thrown as by {@link #createSession}; then whether any
     * session was opened is unknown. Not retried.
     *
     * @param sessions 1 to {@link CreateSessionsRequest#MAX_SESSIONS} items
     * @throws IllegalArgumentException for no items or too many, before sending
     */
    public List<CreateOutcome> createSessions(List<CreateSessionRequest> sessions) {
        checkBatchSize(sessions.size());
        String path = "/v1/sessions/batch";
        List<CreateSessionsAnswer.Item> answers = send("POST", path, new CreateSessionsRequest(List.copyOf(sessions)),
                CreateSessionsAnswer.class).results();
        checkAnswerCount(path, answers, sessions.size());
        List<CreateOutcome> outcomes = new ArrayList<>(answers.size());
        for (int i = 0; i < answers.size(); i++) {
            CreateSessionsAnswer.Item answer = answers.get(i);
            if (answer != null && answer.status() == 201 && answer.result() != null
                    && answer.result().session() != null) {
                outcomes.add(CreateOutcome.of(answer.result()));
            } else if (answer != null && answer.status() >= 300 && answer.error() != null) {
                outcomes.add(CreateOutcome.failed(failure(answer.status(), answer.error(),
                        "env-service POST " + base + path + " item " + i)));
            } else {
                throw new EnvInfrastructureException("env-service POST " + base + path + " answered item " + i
                        + (answer == null ? " with null" : " with status " + answer.status() + " and no "
                        + (answer.status() == 201 ? "session" : "error")));
            }
        }
        return outcomes;
    }

    /**
     * Closes several sessions in one request ({@code POST /v1/sessions/close}). The outcomes come in
     * the order of {@code sessions}; as with {@link #closeSession}, a session that is already gone
     * counts as closed, and any other item failure is the exception {@link #closeSession} would have
     * thrown. A failure of the request as a whole is thrown as by {@link #closeSession}. Not retried.
     *
     * @param sessions 1 to {@link CreateSessionsRequest#MAX_SESSIONS} session ids
     * @throws IllegalArgumentException for no items or too many, before sending
     */
    public List<CloseOutcome> closeSessions(List<String> sessions) {
        checkBatchSize(sessions.size());
        String path = "/v1/sessions/close";
        List<CloseSessionsAnswer.Item> answers = send("POST", path, new CloseSessionsRequest(List.copyOf(sessions)),
                CloseSessionsAnswer.class).results();
        checkAnswerCount(path, answers, sessions.size());
        List<CloseOutcome> outcomes = new ArrayList<>(answers.size());
        for (int i = 0; i < answers.size(); i++) {
            CloseSessionsAnswer.Item answer = answers.get(i);
            String session = sessions.get(i);
            if (answer == null || !session.equals(answer.session())) {
                throw new EnvInfrastructureException("env-service POST " + base + path + " answered item " + i
                        + " for another session than " + session);
            }
            if (answer.status() == 204 || answer.status() == 404 || answer.status() == 410) {
                outcomes.add(CloseOutcome.closed(session));
            } else if (answer.status() >= 300 && answer.error() != null) {
                outcomes.add(CloseOutcome.failed(session, failure(answer.status(), answer.error(),
                        "env-service POST " + base + path + " for session " + session)));
            } else {
                throw new EnvInfrastructureException("env-service POST " + base + path + " answered item " + i
                        + " with status " + answer.status() + " and no error");
            }
        }
        return outcomes;
    }

    private static void checkBatchSize(int items) {
        if (items < 1 || items > CreateSessionsRequest.MAX_SESSIONS) {
            throw new IllegalArgumentException("a session batch takes 1 to " + CreateSessionsRequest.MAX_SESSIONS
                    + " items, got " + items);
        }
    }

    private void checkAnswerCount(String path, List<?> answers, int items) {
        if (answers == null || answers.size() != items) {
            throw new EnvInfrastructureException("env-service POST " + base + path + " answered "
                    + (answers == null ? "no results" : answers.size() + " results") + " for " + items + " items");
        }
    }

    /** Closes a session; closing one that is already gone is not an error. */
    public void closeSession(String session) {
        try {
            send("DELETE", "/v1/sessions/" + session, null, Void.class);
        } catch (EnvRequestException e) {
            if (e.status() != 404 && e.status() != 410) {
                throw e;
            }
        }
    }

    private <T> T send(String method, String path, Object body, Class<T> type) {
        byte[] requestBody;
        try {
            requestBody = body == null ? null : JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot encode the request to " + path + ": " + e.getMessage(), e);
        }
        HttpTransport.Response response;
        try {
            response = transport.exchange(method, pathPrefix + path, requestBody);
        } catch (IOException e) {
            String message = "env-service " + method + " " + base + path + " failed: " + describe(e);
            throw unreachable(e) ? new EnvUnavailableException(message, e) : new EnvInfrastructureException(message, e);
        }
        int status = response.status();
        if (status >= 300) {
            throw failure(status, parseError(response.body()), "env-service " + method + " " + base + path);
        }
        if (type == Void.class) {
            return null;
        }
        try {
            return JSON.readValue(response.body(), type);
        } catch (IOException e) {
            throw new EnvInfrastructureException("env-service " + method + " " + base + path
                    + " sent a malformed answer: " + e.getMessage(), e);
        }
    }

    /**
     * The exception for an error answer, of a whole request or of one batch item: a 4xx is the
     * caller's (a lost session apart), a 503 or 504 an outage, any other status the service's failure.
     *
     * @param what the request, e.g. {@code env-service POST http://host:8080/v1/steps}, for 5xx messages
     */
    private static RuntimeException failure(int status, ApiError error, String what) {
        if (status >= 400 && status < 500) {
            if (status == 404 && EnvSessionLostException.KIND.equals(error.error())) {
                return new EnvSessionLostException(error.message());
            }
            return new EnvRequestException(status, error.error(), error.message());
        }
        String message = what + " answered " + status + " " + error.error() + ": " + error.message();
        return status == 503 || status == 504 ? new EnvUnavailableException(message, error.error())
                : new EnvInfrastructureException(message);
    }

    private static ApiError parseError(byte[] body) {
        try {
            ApiError error = JSON.readValue(body, ApiError.class);
            if (error != null && error.error() != null) {
                return error;
            }
        } catch (IOException ignored) {
            // Not our JSON (a proxy's page, say): report the raw start of it below.
        }
        String text = new String(body, 0, Math.min(body.length, 200), java.nio.charset.StandardCharsets.UTF_8);
        return new ApiError("unknown", text.isBlank() ? "(empty body)" : text.strip());
    }

    /** Closes the pooled connections. */
    @Override
    public void close() {
        transport.close();
    }

    /** Whether the failure says the service could not be reached or answer in time (not that it answered badly). */
    private static boolean unreachable(IOException e) {
        // SocketException covers refused, reset and unreachable; EOFException a connection closed before the answer.
        return e instanceof SocketException || e instanceof SocketTimeoutException || e instanceof EOFException
                || e instanceof UnknownHostException;
    }

    private static String describe(IOException e) {
        String name = e.getClass().getSimpleName();
        return e.getMessage() == null ? name : name + ": " + e.getMessage();
    }

    /**
     * Builds an {@link EnvClient}. Only the URL is required; {@link #build} validates.
     * Defaults: 5 s connect timeout, 30 s request timeout, no authentication, answers up to
     * {@value #DEFAULT_MAX_ANSWER_BYTES} bytes, the JVM's trust store for https.
     */
    public static final class Builder {
        private final String baseUrl;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private BearerToken authToken;
        private Path authTokenFile;
        private int maxAnswerBytes = DEFAULT_MAX_ANSWER_BYTES;
        private SSLContext sslContext;

        private Builder(String baseUrl) {
            this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
        }

        /** Bound on opening a connection (and its TLS handshake, within the request timeout). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = Objects.requireNonNull(timeout, "connectTimeout");
            return this;
        }

        /** Bound on each call, from connecting to the last byte of the answer. */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = Objects.requireNonNull(timeout, "requestTimeout");
            return this;
        }

        /** The service's bearer token, sent as {@code Authorization: Bearer TOKEN} with every call. */
        public Builder authToken(String token) {
            this.authToken = BearerToken.of(token);
            this.authTokenFile = null;
            return this;
        }

        /** As {@link #authToken(String)}, read from a file (its text without surrounding white space) at {@link #build}. */
        public Builder authTokenFile(Path file) {
            this.authTokenFile = Objects.requireNonNull(file, "authTokenFile");
            this.authToken = null;
            return this;
        }

        /** Largest answer body accepted; a larger one fails the call with an {@link EnvInfrastructureException}. */
        public Builder maxAnswerBytes(int bytes) {
            this.maxAnswerBytes = bytes;
            return this;
        }

        /** The TLS context for https, e.g. one that trusts a private CA; the certificate must still name the host. */
        public Builder sslContext(SSLContext context) {
            this.sslContext = Objects.requireNonNull(context, "sslContext");
            return this;
        }

        /**
         * @throws IllegalArgumentException for a bad URL, a non-positive timeout or bound, or an
         *                                  unreadable or invalid token file (the message names the file,
         *                                  never the token)
         */
        public EnvClient build() {
            URI uri;
            try {
                uri = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bad env-service URL '" + baseUrl + "': " + e.getMessage(), e);
            }
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                throw new IllegalArgumentException("bad env-service URL '" + baseUrl + "': expected http://HOST:PORT");
            }
            if (connectTimeout.isNegative() || connectTimeout.isZero() || requestTimeout.isNegative()
                    || requestTimeout.isZero()) {
                throw new IllegalArgumentException("env-service timeouts must be positive");
            }
            if (maxAnswerBytes < 1024) {
                throw new IllegalArgumentException("maxAnswerBytes must be at least 1024, got " + maxAnswerBytes);
            }
            BearerToken token = authTokenFile != null ? BearerToken.fromFile(authTokenFile) : authToken;
            if (token != null && "http".equals(uri.getScheme()) && !isLoopbackName(uri.getHost())) {
                log.warn("sending the env-service auth token to {} over plain http: anyone on the path can read it; "
                        + "use https", uri.getHost());
            }
            SSLContext tls = sslContext;
            if (tls == null && "https".equals(uri.getScheme())) {
                try {
                    tls = SSLContext.getDefault();
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException("no default TLS context", e);
                }
            }
            HttpTransport transport = new HttpTransport(uri, connectTimeout, requestTimeout, IDLE_TIMEOUT,
                    System::nanoTime, maxAnswerBytes, token == null ? null : token.authorization(),
                    tls == null ? null : tls.getSocketFactory());
            return new EnvClient(uri, transport);
        }

        private static boolean isLoopbackName(String host) {
            return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
        }
    }
}
