package io.rollout.env.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.rollout.env.EnvInfrastructureException;
import io.rollout.env.Observation;
import io.rollout.env.StepResult;
import io.rollout.env.api.ApiError;
import io.rollout.env.api.ApiJson;
import io.rollout.env.api.CreateSessionRequest;
import io.rollout.env.api.EnvInfo;
import io.rollout.env.api.ResetRequest;
import io.rollout.env.api.SessionCreated;
import io.rollout.env.api.StepRequest;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A client of the env-service HTTP API. One instance holds one pool of kept-alive
 * connections; share it between threads and close it when done. No call is retried, because a step is not idempotent: a failure of the
 * service or the network raises {@link EnvInfrastructureException}, which an actor turns
 * into an episode ended by an infrastructure error; a 4xx raises {@link EnvRequestException}.
 */
public final class EnvClient implements AutoCloseable {

    private static final ObjectMapper JSON = ApiJson.lenient();

    /** Kept-alive connections idle longer than this are not reused (below the server's 30 s). */
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(15);

    private final URI base;
    private final String pathPrefix;
    private final HttpTransport transport;

    private EnvClient(URI base, Duration connectTimeout, Duration requestTimeout) {
        this.base = base;
        this.pathPrefix = base.getRawPath() == null ? "" : base.getRawPath();
        this.transport = new HttpTransport(base, connectTimeout, requestTimeout, IDLE_TIMEOUT, System::nanoTime);
    }

    /**
     * @param baseUrl        e.g. {@code http://127.0.0.1:8080}
     * @param connectTimeout bound on opening a connection
     * @param requestTimeout bound on each call, from sending to the whole answer
     */
    public static EnvClient create(String baseUrl, Duration connectTimeout, Duration requestTimeout) {
        Objects.requireNonNull(baseUrl, "baseUrl");
        URI uri;
        try {
            uri = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad env-service URL '" + baseUrl + "': " + e.getMessage(), e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("bad env-service URL '" + baseUrl + "': expected http://HOST:PORT");
        }
        if (connectTimeout.isNegative() || connectTimeout.isZero() || requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("env-service timeouts must be positive");
        }
        return new EnvClient(uri, connectTimeout, requestTimeout);
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
            throw new EnvInfrastructureException("env-service " + method + " " + base + path + " failed: " + describe(e), e);
        }
        int status = response.status();
        if (status >= 400 && status < 500) {
            ApiError error = parseError(response.body());
            throw new EnvRequestException(status, error.error(), error.message());
        }
        if (status >= 300) {
            ApiError error = parseError(response.body());
            throw new EnvInfrastructureException("env-service " + method + " " + base + path + " answered " + status
                    + " " + error.error() + ": " + error.message());
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

    private static String describe(IOException e) {
        String name = e.getClass().getSimpleName();
        return e.getMessage() == null ? name : name + ": " + e.getMessage();
    }
}
