package io.rollout.env.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rollout.env.EnvConfig;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.EnvInputException;
import io.rollout.env.Observation;
import io.rollout.env.Seeds;
import io.rollout.env.StepResult;
import io.rollout.env.api.ApiError;
import io.rollout.env.api.ApiJson;
import io.rollout.env.api.BearerToken;
import io.rollout.env.api.CreateSessionRequest;
import io.rollout.env.api.CreateSessionsRequest;
import io.rollout.env.api.EnvInfo;
import io.rollout.env.api.ResetRequest;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.api.StepBatchRequest;
import io.rollout.env.api.StepRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The env-service HTTP API (JSON) on a Javalin server. Client mistakes are answered
 * with a 4xx and a JSON body naming the problem; a failing remote environment with 502;
 * nothing a client sends causes a 500. A 5xx body says only what kind of failure it was
 * and an error id: the details (exception text, remote addresses) go to the log under
 * that id, never to the client. See docs/env-service-api.md.
 *
 * <p>Longer than most classes because every endpoint of the API and its mapping of failures to
 * answers is here, in the order of docs/env-service-api.md.
 */
public final class EnvServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EnvServer.class);
    /** How long {@link #close()} waits for the HTTP server to stop. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final ObjectMapper REQUESTS = ApiJson.strict();
    private static final ObjectMapper RESPONSES = ApiJson.lenient();

    private final Javalin app;
    private final SessionManager sessions;
    private final ScheduledExecutorService sweeper;
    private final String host;

    private EnvServer(Javalin app, SessionManager sessions, ScheduledExecutorService sweeper, String host) {
        this.app = app;
        this.sessions = sessions;
        this.sweeper = sweeper;
        this.host = host;
    }

    /**
     * Server settings. {@code port} 0 takes a free port.
     *
     * @param authToken           the bearer token every {@code /v1/} request must carry, or null for none
     * @param insecureNoAuth      allow serving a non-loopback address without a token (unsafe)
     * @param maxObservationBytes largest answer carrying an observation; a larger one is an
     *                            environment bug, answered 500 {@code observation_too_large}
     */
    public record Options(String host, int port, long maxBodyBytes, Duration sweepEvery, BearerToken authToken,
            boolean insecureNoAuth, int maxObservationBytes) {

        /** Far above any built-in environment's observation, and a step record this size still fits Kafka's 1 MB. */
        public static final int DEFAULT_MAX_OBSERVATION_BYTES = 256 * 1024;

        public Options {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port must be in 0..65535, got " + port);
            }
            if (maxBodyBytes < 256) {
                throw new IllegalArgumentException("max body must be at least 256 bytes, got " + maxBodyBytes);
            }
            if (maxObservationBytes < 1024) {
                throw new IllegalArgumentException("max observation must be at least 1024 bytes, got "
                        + maxObservationBytes);
            }
        }

        /** No authentication, the default observation bound. */
        public Options(String host, int port, long maxBodyBytes, Duration sweepEvery) {
            this(host, port, maxBodyBytes, sweepEvery, null, false, DEFAULT_MAX_OBSERVATION_BYTES);
        }

        public Options withAuthToken(BearerToken token) {
            return new Options(host, port, maxBodyBytes, sweepEvery, token, insecureNoAuth, maxObservationBytes);
        }

        public Options withInsecureNoAuth(boolean insecure) {
            return new Options(host, port, maxBodyBytes, sweepEvery, authToken, insecure, maxObservationBytes);
        }

        public Options withMaxObservationBytes(int bytes) {
            return new Options(host, port, maxBodyBytes, sweepEvery, authToken, insecureNoAuth, bytes);
        }

        /**
         * Refuses to serve a non-loopback address without a token unless {@code insecureNoAuth}:
         * anyone who can reach the port could otherwise open sessions and drive environments.
         *
         * @throws IllegalArgumentException naming the host and what to do
         */
        public void requireAuthUnlessLoopback() {
            if (authToken != null || insecureNoAuth || isLoopback(host)) {
                return;
            }
            throw new IllegalArgumentException("host " + host + " is not a loopback address, so the service needs a "
                    + "bearer token (--auth-token-file FILE); --insecure-no-auth serves it to anyone who can reach "
                    + "the port (unsafe)");
        }

        private static boolean isLoopback(String host) {
            try {
                for (InetAddress address : InetAddress.getAllByName(host)) {
                    if (!address.isLoopbackAddress()) {
                        return false;
                    }
                }
                return true;
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("cannot resolve host '" + host + "': " + e.getMessage(), e);
            }
        }
    }

    /** Starts serving; the returned server owns {@code sessions} and closes them on {@link #close()}. */
    public static EnvServer start(Options options, SessionManager sessions, PrometheusMeterRegistry registry) {
        options.requireAuthUnlessLoopback();
        EnvMetrics metrics = new EnvMetrics(sessions);
        metrics.bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        Handlers handlers = new Handlers(sessions, metrics, options);

        Javalin app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.http.maxRequestSize = options.maxBodyBytes();
            config.http.prefer405over404 = true;
            config.routes.get("/health", handlers::health);
            // Ready as soon as it serves: no state to restore, no group to join.
            config.routes.get("/ready", handlers::health);
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                    .result(registry.scrape()));
            if (options.authToken() != null) {
                // /health and /ready stay open for probes; Prometheus scrapes /metrics with the same token.
                config.routes.before("/v1/*", handlers::authenticate);
                config.routes.before("/metrics", handlers::authenticate);
            }
            config.routes.get("/v1/envs", handlers::listEnvs);
            config.routes.post("/v1/sessions", handlers::create);
            config.routes.post("/v1/sessions/batch", handlers::createBatch);
            config.routes.post("/v1/sessions/close", handlers::closeBatch);
            config.routes.post("/v1/sessions/{id}/step", handlers::step);
            config.routes.post("/v1/steps", handlers::stepBatch);
            config.routes.post("/v1/sessions/{id}/reset", handlers::reset);
            config.routes.delete("/v1/sessions/{id}", handlers::close);
            config.routes.exception(Exception.class, handlers::failure);
            // Javalin answers its own HTTP exceptions in plain text unless told otherwise.
            config.routes.exception(HttpResponseException.class, handlers::failure);
        });
        app.start(options.host(), options.port());

        ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "env-session-sweeper");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1, options.sweepEvery().toMillis());
        sweeper.scheduleWithFixedDelay(() -> {
            try {
                sessions.expireIdle();
            } catch (RuntimeException e) {
                log.warn("session sweep failed", e);
            }
        }, every, every, TimeUnit.MILLISECONDS);
        EnvServer server = new EnvServer(app, sessions, sweeper, options.host());
        log.info("env-service listening on {} with environments {}; {}", server.url(),
                sessions.registry().all().stream().map(f -> f.name()).toList(),
                options.authToken() != null ? "/v1/ requests need the bearer token"
                        : "no authentication");
        if (options.authToken() == null && !Options.isLoopback(options.host())) {
            log.warn("serving {} WITHOUT authentication (--insecure-no-auth): anyone who reaches the port can open "
                    + "sessions", options.host());
        }
        return server;
    }

    public int port() {
        return app.port();
    }

    /** Base URL, e.g. {@code http://127.0.0.1:8080}. */
    public String url() {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "http://" + ("0.0.0.0".equals(host) ? "127.0.0.1" : h) + ":" + port();
    }

    /**
     * Stops serving and closes every session. Jetty's stop can wait forever for a selector that
     * no longer runs (seen once in a test run: {@code ManagedSelector.doStop} parked on its latch),
     * so it runs on a daemon thread and close returns after {@link #STOP_TIMEOUT} at most.
     */
    @Override
    public void close() {
        sweeper.shutdownNow();
        Thread stopping = new Thread(app::stop, "env-service-stop");
        stopping.setDaemon(true);
        stopping.start();
        try {
            stopping.join(STOP_TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (stopping.isAlive()) {
            log.warn("env-service's HTTP server did not stop within {}; closing the sessions anyway", STOP_TIMEOUT);
        }
        sessions.closeAll();
    }

    /**
     * The route handlers; every error path goes through {@link #describe}, from {@link #failure} for
     * a whole request and from {@link #stepBatch}, {@link #createBatch} and {@link #closeBatch} for one
     * item of a batch.
     */
    private static final class Handlers {
        private static final byte[] BATCH_START = "{\"results\":[".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] BATCH_END = "]}".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] SESSION_FIELD = "{\"session\":".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] STATUS_200_RESULT = "\"status\":200,\"result\":".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] STATUS_201_RESULT = "{\"status\":201,\"result\":".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] STATUS_204 = ",\"status\":204}".getBytes(StandardCharsets.US_ASCII);

        /** Oversized bodies up to this size are read and dropped before the 413 (see body()). */
        private static final long DRAIN_LIMIT_BYTES = 1 << 20;

        private final SessionManager sessions;
        private final EnvMetrics metrics;

        private final long maxBodyBytes;
        private final int maxObservationBytes;
        /** Observations stop entering a batch answer before this size; the rest of it stays far below. */
        private final long batchAnswerBytes;
        private final BearerToken authToken;

        Handlers(SessionManager sessions, EnvMetrics metrics, Options options) {
            this.sessions = sessions;
            this.metrics = metrics;
            this.maxBodyBytes = options.maxBodyBytes();
            this.maxObservationBytes = options.maxObservationBytes();
            this.batchAnswerBytes = 3L * options.maxObservationBytes();
            this.authToken = options.authToken();
        }

        void authenticate(Context ctx) throws IOException {
            String authorization = ctx.header("Authorization");
            if (authToken.matches(authorization)) {
                return;
            }
            // As for a 413: a client still sending its body would lose the answer to a connection reset.
            long declared = ctx.req().getContentLengthLong();
            if (declared > 0 && declared <= DRAIN_LIMIT_BYTES) {
                ctx.req().getInputStream().transferTo(OutputStream.nullOutputStream());
            }
            throw new UnauthorizedException(authorization == null ? "no Authorization header"
                    : authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? "wrong bearer token"
                    : "the Authorization header is not a Bearer token");
        }

        void health(Context ctx) throws IOException {
            write(ctx, 200, Map.of("status", "ok", "sessions_open", sessions.open()));
        }

        void listEnvs(Context ctx) throws IOException {
            List<EnvInfo> envs = sessions.registry().all().stream()
                    .map(f -> new EnvInfo(f.name(), f.description(), f.configDefaults())).toList();
            write(ctx, 200, new EnvInfo.Listing(envs));
        }

        void create(Context ctx) throws IOException {
            write(ctx, 201, createItem(read(ctx, CreateSessionRequest.class), ""));
        }

        /**
         * Opens one session as {@code POST /v1/sessions} asks; returns the JSON of its answer.
         *
         * @param where names the batch item in a malformed-request message, or is empty
         */
        private byte[] createItem(CreateSessionRequest request, String where) {
            require(request.env() != null, where + "field 'env' is required");
            require(request.seed() != null, where + "field 'seed' is required");
            long seed = Seeds.check(request.seed());
            EnvConfig config = config(request.config());
            SessionManager.Created created = sessions.create(request.env(), seed, config);
            metrics.sessionCreated(request.env());
            try {
                return observationAnswer(request.env(),
                        new SessionCreated(created.id(), request.env(), seed, created.observation()));
            } catch (ObservationTooLargeException | IOException e) {
                sessions.close(created.id()); // the client never learns the id, so nobody else would close it
                throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
            }
        }

        /**
         * {@code POST /v1/sessions/batch}: opens each item's session as {@link #create} would, in the
         * request's order, and answers each with its own status and result or error body; a failing
         * item (an unknown env, a bad config, the session limit reached) does not stop the others.
         * As in {@link #stepBatch}, once the answer might outgrow {@link #batchAnswerBytes} the
         * remaining items are not created and are answered 503 {@code batch_answer_full}.
         */
        void createBatch(Context ctx) throws IOException {
            List<JsonNode> items = batchItems(read(ctx, SessionsBody.class).sessions(), "sessions");
            metrics.sessionBatch("create", items.size());
            ByteArrayOutputStream answer = new ByteArrayOutputStream(512 * items.size());
            answer.writeBytes(BATCH_START);
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    answer.write(',');
                }
                if (answer.size() + maxObservationBytes > batchAnswerBytes) {
                    answer.write('{');
                    itemError(answer, 503, "batch_answer_full", "not created: the answers before it filled this "
                            + "batch's answer limit of " + batchAnswerBytes + " bytes; send it again");
                    continue;
                }
                try {
                    byte[] created = createItem(item(items.get(i), i, CreateSessionRequest.class), "item " + i + ": ");
                    answer.writeBytes(STATUS_201_RESULT);
                    answer.writeBytes(created);
                    answer.write('}');
                } catch (RuntimeException e) {
                    ApiFailure failure = describe(e, ctx);
                    answer.write('{');
                    itemError(answer, failure.status(), failure.kind(), failure.message());
                }
            }
            answer.writeBytes(BATCH_END);
            write(ctx, 200, answer.toByteArray());
        }

        /**
         * {@code POST /v1/sessions/close}: closes each listed session as {@link #close} would and
         * answers each with 204 or the error that request would have had (404 {@code unknown_session}
         * for one never issued or already closed, also by an earlier item).
         */
        void closeBatch(Context ctx) throws IOException {
            List<JsonNode> items = batchItems(read(ctx, SessionsBody.class).sessions(), "sessions");
            metrics.sessionBatch("close", items.size());
            ByteArrayOutputStream answer = new ByteArrayOutputStream(64 * items.size());
            answer.writeBytes(BATCH_START);
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    answer.write(',');
                }
                JsonNode node = items.get(i);
                String session = node != null && node.isTextual() ? node.asText() : null;
                answer.writeBytes(SESSION_FIELD);
                answer.writeBytes(RESPONSES.writeValueAsBytes(session));
                try {
                    require(session != null, "item " + i + " is not a session id (a JSON string)");
                    sessions.close(session);
                    answer.writeBytes(STATUS_204);
                } catch (RuntimeException e) {
                    ApiFailure failure = describe(e, ctx);
                    answer.write(',');
                    itemError(answer, failure.status(), failure.kind(), failure.message());
                }
            }
            answer.writeBytes(BATCH_END);
            write(ctx, 200, answer.toByteArray());
        }

        /** The items of a batch body's list {@code field}, checked for presence and size as every batch route does. */
        private static List<JsonNode> batchItems(List<JsonNode> items, String field) {
            require(items != null, "field '" + field + "' is required");
            require(!items.isEmpty(), "field '" + field + "' is empty; send 1 to " + StepBatchRequest.MAX_STEPS
                    + " items");
            if (items.size() > StepBatchRequest.MAX_STEPS) {
                throw new BatchTooLargeException(items.size());
            }
            return items;
        }

        void step(Context ctx) throws IOException {
            String id = ctx.pathParam("id");
            StepRequest request = read(ctx, StepRequest.class);
            require(request.action() != null, "field 'action' is required");
            String env = sessions.envOf(id);
            long start = System.nanoTime();
            StepResult result = sessions.step(id, request.action());
            metrics.step(env, result, System.nanoTime() - start);
            write(ctx, 200, observationAnswer(env, result));
        }

        /**
         * Applies each item as {@link #step} would, in the request's order, and answers each with
         * its own status and result or error body; a failing item does not stop the others.
         * A session named again in the same batch is refused ({@code duplicate_session}), so
         * which step came first never depends on how the items are scheduled. The answer stays
         * within {@link #batchAnswerBytes}: once it might not, the remaining items are not
         * applied and are answered 503 {@code batch_answer_full}.
         */
        void stepBatch(Context ctx) throws IOException {
            BatchBody request = read(ctx, BatchBody.class);
            batchItems(request.steps(), "steps");
            metrics.stepBatch(request.steps().size());
            ByteArrayOutputStream answer = new ByteArrayOutputStream(256 * request.steps().size());
            answer.writeBytes(BATCH_START);
            Map<String, Integer> seen = new HashMap<>();
            for (int i = 0; i < request.steps().size(); i++) {
                if (i > 0) {
                    answer.write(',');
                }
                JsonNode node = request.steps().get(i);
                String session = node != null && node.path("session").isTextual() ? node.get("session").asText() : null;
                answer.writeBytes(SESSION_FIELD);
                answer.writeBytes(RESPONSES.writeValueAsBytes(session));
                answer.write(',');
                if (answer.size() + maxObservationBytes > batchAnswerBytes) {
                    itemError(answer, 503, "batch_answer_full", "not applied: the answers before it filled this "
                            + "batch's answer limit of " + batchAnswerBytes + " bytes; send the step again");
                    continue;
                }
                try {
                    StepBatchRequest.Item item = item(node, i, StepBatchRequest.Item.class);
                    require(item.session() != null, "item " + i + ": field 'session' is required");
                    require(item.action() != null, "item " + i + ": field 'action' is required");
                    Integer first = seen.putIfAbsent(item.session(), i);
                    if (first != null) {
                        itemError(answer, 400, "duplicate_session", "not applied: session " + item.session() + " already has "
                                + "item " + first + " in this batch; send one step per session per batch");
                        continue;
                    }
                    byte[] result = stepItem(item);
                    answer.writeBytes(STATUS_200_RESULT);
                    answer.writeBytes(result);
                    answer.write('}');
                } catch (RuntimeException e) {
                    ApiFailure failure = describe(e, ctx);
                    itemError(answer, failure.status(), failure.kind(), failure.message());
                }
            }
            answer.writeBytes(BATCH_END);
            write(ctx, 200, answer.toByteArray());
        }

        /** Batch item {@code index} read as {@code type} (strictly, as a whole body is); MalformedRequestException if not. */
        private static <T> T item(JsonNode node, int index, Class<T> type) {
            T item;
            try {
                item = node == null || !node.isObject() ? null : REQUESTS.treeToValue(node, type);
            } catch (JsonProcessingException e) {
                throw new MalformedRequestException("item " + index + ": malformed: " + e.getOriginalMessage());
            }
            require(item != null, "item " + index + " is not a JSON object");
            return item;
        }

        /** Applies one batch item as {@link #step} does; returns the JSON a single step would answer. */
        private byte[] stepItem(StepBatchRequest.Item item) {
            String env = sessions.envOf(item.session());
            long start = System.nanoTime();
            StepResult result = sessions.step(item.session(), item.action());
            metrics.step(env, result, System.nanoTime() - start);
            try {
                return observationAnswer(env, result);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Ends a batch item with an error status and the same body a single request would get; counts it. */
        private void itemError(ByteArrayOutputStream answer, int status, String kind, String message)
                throws IOException {
            metrics.error(kind);
            answer.writeBytes(("\"status\":" + status + ",\"error\":").getBytes(StandardCharsets.US_ASCII));
            answer.writeBytes(RESPONSES.writeValueAsBytes(new ApiError(kind, message)));
            answer.write('}');
        }

        void reset(Context ctx) throws IOException {
            String id = ctx.pathParam("id");
            ResetRequest request = read(ctx, ResetRequest.class);
            require(request.seed() != null, "field 'seed' is required");
            Observation observation = sessions.reset(id, Seeds.check(request.seed()), config(request.config()));
            write(ctx, 200, observationAnswer(sessions.envOf(id), observation));
        }

        void close(Context ctx) {
            sessions.close(ctx.pathParam("id"));
            ctx.status(204);
        }

        void failure(Exception e, Context ctx) {
            ApiFailure failure = describe(e, ctx);
            if (failure.status() == 401) {
                ctx.header("WWW-Authenticate", "Bearer realm=\"env-service\"");
            }
            answer(ctx, failure.status(), failure.kind(), failure.message());
        }

        /**
         * The status, kind and message a failure is answered with, the same for a whole request and
         * for one item of a batch; logs what a 5xx answer leaves out under the id it names.
         */
        private ApiFailure describe(Exception e, Context ctx) {
            if (e instanceof EnvInputException input) {
                return new ApiFailure(statusOf(input.kind()), input.kind().name().toLowerCase(), input.getMessage());
            } else if (e instanceof MalformedRequestException) {
                return new ApiFailure(400, "malformed_request", e.getMessage());
            } else if (e instanceof BatchTooLargeException) {
                return new ApiFailure(400, "batch_too_large", e.getMessage());
            } else if (e instanceof IOException) {
                return new ApiFailure(400, "malformed_request", "cannot read the request body: " + e.getMessage());
            } else if (e instanceof UnknownSessionException unknown) {
                return new ApiFailure(unknown.expired() ? 410 : 404,
                        unknown.expired() ? "session_expired" : "unknown_session", e.getMessage());
            } else if (e instanceof SessionLimitException) {
                return new ApiFailure(429, "too_many_sessions", e.getMessage());
            } else if (e instanceof UnauthorizedException) {
                log.warn("refused {} {} from {}: {}", ctx.method(), ctx.path(), ctx.ip(), e.getMessage());
                return new ApiFailure(401, "unauthorized", e.getMessage() + "; send Authorization: Bearer <token>");
            } else if (e instanceof ObservationTooLargeException big) {
                String id = errorId();
                log.error("environment bug (id {}) on {} {} from {}: {} answered {} bytes, over the limit of {}",
                        id, ctx.method(), ctx.path(), ctx.ip(), big.env, big.bytes, maxObservationBytes);
                return new ApiFailure(500, "observation_too_large", "the environment produced an observation over "
                        + "this service's limit of " + maxObservationBytes + " bytes, see the server log (id " + id + ")");
            } else if (e instanceof EnvInfrastructureException) {
                String id = errorId();
                log.warn("infrastructure error (id {}) on {} {} from {}: {}", id, ctx.method(), ctx.path(), ctx.ip(),
                        e.getMessage());
                return new ApiFailure(502, "infrastructure_error",
                        "an environment's backing server failed, see the server log (id " + id + ")");
            } else if (e instanceof BodyTooLargeException
                    || e instanceof HttpResponseException http && http.getStatus() == 413) {
                return new ApiFailure(413, "body_too_large", "request body exceeds the limit of " + maxBodyBytes
                        + " bytes");
            } else if (e instanceof HttpResponseException http && http.getStatus() == 404) {
                return new ApiFailure(404, "not_found", "no route " + ctx.method() + " " + ctx.path());
            } else if (e instanceof HttpResponseException http && http.getStatus() == 405) {
                return new ApiFailure(405, "method_not_allowed", ctx.method() + " is not allowed on " + ctx.path());
            } else if (e instanceof HttpResponseException http && http.getStatus() < 500) {
                return new ApiFailure(http.getStatus(), "http_" + http.getStatus(), http.getMessage());
            } else {
                String id = errorId();
                log.error("internal error (id {}) on {} {} from {}", id, ctx.method(), ctx.path(), ctx.ip(), e);
                return new ApiFailure(500, "internal", "internal error, see the server log (id " + id + ")");
            }
        }

        /** A short random id that ties a 5xx answer to its log line. */
        private static String errorId() {
            return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        }

        void answer(Context ctx, int status, String kind, String message) {
            metrics.error(kind);
            try {
                write(ctx, status, new ApiError(kind, message));
            } catch (IOException e) {
                log.debug("cannot write the {} answer: {}", status, e.toString());
            }
        }

        private static int statusOf(EnvInputException.Kind kind) {
            return switch (kind) {
                case UNKNOWN_ENV -> 404;
                case EPISODE_DONE, NOT_STARTED -> 409;
                case UNKNOWN_CONFIG_KEY, BAD_CONFIG_VALUE, CONFIG_TOO_EXPENSIVE, SEED_OUT_OF_RANGE -> 400;
            };
        }

        private <T> T read(Context ctx, Class<T> type) throws IOException {
            byte[] body = body(ctx);
            if (body.length == 0) {
                throw new MalformedRequestException("empty body; expected a JSON object");
            }
            try {
                T value = REQUESTS.readValue(body, type);
                if (value == null) {
                    throw new MalformedRequestException("body is JSON null; expected an object");
                }
                return value;
            } catch (JsonProcessingException e) {
                throw new MalformedRequestException("malformed JSON: " + e.getOriginalMessage());
            }
        }

        /**
         * Reads the request body into an array of exactly its size; Javalin's own reader
         * allocates a large buffer per request, which dominated the service's garbage.
         */
        private byte[] body(Context ctx) throws IOException {
            long declared = ctx.req().getContentLengthLong();
            InputStream in = ctx.req().getInputStream();
            if (declared > maxBodyBytes) {
                // A client still sending the body of a refused request would see the connection
                // reset, and lose the 413 with it, if the server closed it with unread bytes: read
                // and drop a moderately oversized body first. A huge one is not read.
                if (declared <= DRAIN_LIMIT_BYTES) {
                    in.transferTo(OutputStream.nullOutputStream()); // ends at the declared length
                }
                throw new BodyTooLargeException();
            }
            if (declared >= 0) {
                byte[] body = new byte[(int) declared];
                if (in.readNBytes(body, 0, body.length) < body.length) {
                    throw new MalformedRequestException("body ended before its Content-Length of " + declared + " bytes");
                }
                return body;
            }
            byte[] body = in.readNBytes((int) maxBodyBytes + 1);
            if (body.length > maxBodyBytes) {
                throw new BodyTooLargeException();
            }
            return body;
        }

        private static EnvConfig config(Map<String, Object> raw) {
            if (raw == null || raw.isEmpty()) {
                return EnvConfig.empty();
            }
            Map<String, String> values = new LinkedHashMap<>();
            raw.forEach((key, value) -> {
                if (value == null || value instanceof Map || value instanceof List) {
                    throw new EnvInputException(EnvInputException.Kind.BAD_CONFIG_VALUE,
                            "config " + key + " must be a string, number or boolean");
                }
                values.put(key, value.toString());
            });
            return EnvConfig.of(values);
        }

        private static void require(boolean condition, String message) {
            if (!condition) {
                throw new MalformedRequestException(message);
            }
        }

        /** The JSON of an answer that carries an observation; ObservationTooLargeException over the bound. */
        private byte[] observationAnswer(String env, Object body) throws IOException {
            byte[] json = RESPONSES.writeValueAsBytes(body);
            if (json.length > maxObservationBytes) {
                throw new ObservationTooLargeException(env, json.length);
            }
            return json;
        }

        /** Writes the JSON straight to the response; Javalin's result stream would copy it through a fresh buffer. */
        private static void write(Context ctx, int status, Object body) throws IOException {
            write(ctx, status, RESPONSES.writeValueAsBytes(body));
        }

        private static void write(Context ctx, int status, byte[] json) throws IOException {
            ctx.status(status).contentType("application/json");
            ctx.res().setContentLength(json.length);
            ctx.res().getOutputStream().write(json);
        }
    }

    /** The body of {@code POST /v1/steps} as read: items stay JSON so one malformed item fails alone. */
    private record BatchBody(List<JsonNode> steps) {
    }

    /** The body of {@code POST /v1/sessions/batch} and {@code /close} as read, items kept as JSON likewise. */
    private record SessionsBody(List<JsonNode> sessions) {
    }

    /** How a failure is answered: the status and the {@link ApiError} body. */
    private record ApiFailure(int status, String kind, String message) {
    }

    /** A batch with more items than {@link StepBatchRequest#MAX_STEPS} (= {@link CreateSessionsRequest#MAX_SESSIONS}). */
    private static final class BatchTooLargeException extends RuntimeException {
        BatchTooLargeException(int items) {
            super("the batch has " + items + " items; at most " + StepBatchRequest.MAX_STEPS + " per request",
                    null, false, false);
        }
    }

    /** The request does not carry the service's bearer token; the message says how, never the value. */
    private static final class UnauthorizedException extends RuntimeException {
        UnauthorizedException(String reason) {
            super(reason, null, false, false);
        }
    }

    /** An environment answered with more observation than the service serves. */
    private static final class ObservationTooLargeException extends RuntimeException {
        final String env;
        final int bytes;

        ObservationTooLargeException(String env, int bytes) {
            super(env + " answered " + bytes + " bytes", null, false, false);
            this.env = env;
            this.bytes = bytes;
        }
    }

    /** The request body is larger than the configured limit. */
    private static final class BodyTooLargeException extends RuntimeException {
    }

    /** The request body is not the JSON the route expects. */
    private static final class MalformedRequestException extends RuntimeException {
        MalformedRequestException(String message) {
            super(message);
        }
    }
}
