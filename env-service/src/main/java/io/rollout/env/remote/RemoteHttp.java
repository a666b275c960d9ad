package io.rollout.env.remote;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rollout.env.EnvInfrastructureException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JSON over HTTP to one environment server, with the retry policy: a call is retried (up to
 * {@link RemoteEnvSpec#retries()} times, the wait doubling from {@link RemoteEnvSpec#backoff()})
 * <ul>
 *   <li>always when the request surely never reached the application: the connection was refused
 *       or could not be opened in time, or the server answered 503 (uvicorn's answer when it is over
 *       its concurrency limit, before any handler runs);</li>
 *   <li>for {@link Safety#REPEATABLE} calls also after a timeout, a lost connection, a 5xx, 408, 429,
 *       a malformed answer or an {@code {"error": ...}} answer.</li>
 * </ul>
 * A {@link Safety#ONCE} call (step, create) that may have reached the server is never repeated: a
 * repeated step could apply the action twice, a repeated create could leak a server-side environment.
 * Every failure that is not retried becomes an {@link EnvInfrastructureException} naming the server,
 * the route and the cause.
 *
 * <p>One attempt is bounded in time and size: {@link RemoteEnvSpec#requestTimeout()} covers connecting
 * and the whole answer, however slowly its bytes come (the JDK client's own request timeout stops at the
 * answer's headers), and an answer over {@link RemoteEnvSpec#maxAnswerBytes()} fails the call. Over https
 * the server's certificate must name the URL's host.
 */
final class RemoteHttp {

    private static final Logger LOG = LoggerFactory.getLogger(RemoteHttp.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final int SNIPPET = 200;

    /** Whether a call may be repeated after it may have reached the server. */
    enum Safety {
        /** Repeating it leaves the same server state (reset to the same task, a read, close). */
        REPEATABLE,
        /** Repeating it could change the outcome (step) or the server's resources (create). */
        ONCE
    }

    /** Thrown by a decoder when a 2xx answer does not have the expected shape. */
    static final class MalformedAnswer extends RuntimeException {
        MalformedAnswer(String message) {
            super(message);
        }
    }

    /** Turns a parsed 2xx answer into a value, or throws {@link MalformedAnswer}. */
    @FunctionalInterface
    interface Decoder<T> {
        T decode(JsonNode answer);
    }

    private final HttpClient client;
    private final RemoteEnvSpec spec;
    private final String base;

    RemoteHttp(HttpClient client, RemoteEnvSpec spec) {
        this.client = Objects.requireNonNull(client, "client");
        this.spec = Objects.requireNonNull(spec, "spec");
        this.base = spec.url().toString();
    }

    static HttpClient newClient(RemoteEnvSpec spec) {
        try {
            return newClient(spec, SSLContext.getDefault());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no default TLS context", e);
        }
    }

    /** A client for {@code spec} whose https connections trust what {@code tls} trusts, for the URL's host only. */
    static HttpClient newClient(RemoteEnvSpec spec, SSLContext tls) {
        SSLParameters parameters = tls.getDefaultSSLParameters();
        // The JDK client checks the host name by default unless a system property turns it off; say it here.
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        // HTTP/1.1: uvicorn speaks no h2c, and an upgrade attempt only costs a header.
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(spec.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .sslContext(tls)
                .sslParameters(parameters)
                .build();
    }

    /** POSTs {@code body} as JSON to {@code route}. */
    <T> T post(String route, ObjectNode body, Safety safety, Decoder<T> decoder) {
        return exchange(jsonPost(route, body), "POST " + route, safety, false, decoder);
    }

    /** GETs {@code route?param=value}. */
    <T> T get(String route, String param, long value, Decoder<T> decoder) {
        String query = "?" + URLEncoder.encode(param, StandardCharsets.UTF_8) + "=" + value;
        HttpRequest request = builder(route + query).GET().build();
        return exchange(request, "GET " + route + query, Safety.REPEATABLE, false, decoder);
    }

    /**
     * POSTs to a route the server may not have (close on older AgentGym servers): a 404 or 405
     * answer returns {@code false} instead of failing.
     */
    boolean postIfRouteExists(String route, ObjectNode body) {
        Boolean found = exchange(jsonPost(route, body), "POST " + route, Safety.REPEATABLE, true, answer -> Boolean.TRUE);
        return found != null;
    }

    private HttpRequest jsonPost(String route, ObjectNode body) {
        String json;
        try {
            json = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode request body", e);
        }
        return builder(route)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8))
                .build();
    }

    /** An infrastructure failure about {@code what} (e.g. "POST /step") with this server named. */
    EnvInfrastructureException failure(String what, String cause, Throwable source) {
        return new EnvInfrastructureException("remote environment '" + spec.name() + "' at " + base + ": " + what
                + " failed: " + cause, source);
    }

    private HttpRequest.Builder builder(String routeAndQuery) {
        return HttpRequest.newBuilder(URI.create(base + routeAndQuery))
                .timeout(spec.requestTimeout())
                .header("Accept", "application/json");
    }

    private <T> T exchange(HttpRequest request, String what, Safety safety, boolean missingRouteOk,
            Decoder<T> decoder) {
        int attempt = 0;
        while (true) {
            attempt++;
            Attempt failed;
            try {
                HttpResponse<String> response = send(request);
                int status = response.statusCode();
                if (status >= 200 && status < 300) {
                    try {
                        return decoder.decode(parse(response.body()));
                    } catch (MalformedAnswer e) {
                        failed = Attempt.reached(e.getMessage(), true, null);
                    }
                } else if (missingRouteOk && (status == 404 || status == 405)) {
                    LOG.debug("{} {}: the server has no such route (HTTP {})", base, what, status);
                    return null;
                } else {
                    String cause = "HTTP " + status + snippet(response.body());
                    failed = status == 503
                            ? Attempt.notReached(cause, null)
                            : Attempt.reached(cause, status >= 500 || status == 408 || status == 429, null);
                }
            } catch (HttpConnectTimeoutException e) {
                failed = Attempt.notReached("could not connect within "
                        + RemoteEnvSpec.formatDuration(spec.connectTimeout()), e);
            } catch (HttpTimeoutException e) {
                failed = Attempt.reached("no answer within " + RemoteEnvSpec.formatDuration(spec.requestTimeout())
                        + " (timed out)", true, e);
            } catch (ConnectException e) {
                failed = Attempt.notReached("cannot connect (" + describe(e) + ")", e);
            } catch (AnswerTooLargeException e) {
                failed = Attempt.reached(e.getMessage(), false, e);
            } catch (IOException e) {
                failed = Attempt.reached("I/O error (" + describe(e) + ")", true, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failure(what, "interrupted", e);
            }
            boolean retry = attempt <= spec.retries()
                    && (!failed.mayHaveReached || (safety == Safety.REPEATABLE && failed.repeatable));
            if (!retry) {
                throw failure(what, failed.cause + " (" + attempt + (attempt == 1 ? " attempt" : " attempts") + ")",
                        failed.source);
            }
            long waitMillis = spec.backoff().toMillis() << Math.min(attempt - 1, 20);
            LOG.warn("remote environment '{}' at {}: {} failed: {}; retry {} of {} in {} ms", spec.name(), base, what,
                    failed.cause, attempt, spec.retries(), waitMillis);
            sleep(what, waitMillis);
        }
    }

    /**
     * One attempt within the request timeout, answer body included, and within the answer size bound.
     *
     * @throws HttpTimeoutException    when the whole answer did not come in time
     * @throws AnswerTooLargeException when the answer is larger than the bound
     */
    private HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        CompletableFuture<HttpResponse<String>> future = client.sendAsync(request,
                info -> new BoundedBody(spec.maxAnswerBytes(), info.headers().firstValueAsLong("Content-Length")));
        try {
            return future.get(spec.requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new HttpTimeoutException("no complete answer within "
                    + RemoteEnvSpec.formatDuration(spec.requestTimeout()));
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(cause);
        }
    }

    /** The server's answer is over the configured bound. */
    static final class AnswerTooLargeException extends IOException {
        AnswerTooLargeException(String message) {
            super(message);
        }
    }

    /** Collects an answer body as UTF-8 text, failing as soon as it is longer than the bound. */
    private static final class BoundedBody implements HttpResponse.BodySubscriber<String> {
        private final int max;
        private final CompletableFuture<String> result = new CompletableFuture<>();
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private Flow.Subscription subscription;

        BoundedBody(int max, OptionalLong declared) {
            this.max = max;
            if (declared.isPresent() && declared.getAsLong() > max) {
                result.completeExceptionally(tooLarge(Long.toString(declared.getAsLong())));
            }
        }

        private AnswerTooLargeException tooLarge(String size) {
            return new AnswerTooLargeException("the answer of " + size + " bytes exceeds the limit of " + max
                    + " bytes (max-answer-bytes)");
        }

        @Override
        public CompletionStage<String> getBody() {
            return result;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (result.isDone()) {
                s.cancel();
            } else {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
            if (result.isDone()) {
                return;
            }
            for (ByteBuffer item : items) {
                if ((long) bytes.size() + item.remaining() > max) {
                    subscription.cancel();
                    result.completeExceptionally(tooLarge("more than " + max));
                    return;
                }
                byte[] chunk = new byte[item.remaining()];
                item.get(chunk);
                bytes.write(chunk, 0, chunk.length);
            }
        }

        @Override
        public void onError(Throwable error) {
            result.completeExceptionally(error);
        }

        @Override
        public void onComplete() {
            result.complete(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    private void sleep(String what, long millis) {
        if (millis <= 0) {
            return;
        }
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failure(what, "interrupted while waiting to retry", e);
        }
    }

    private static JsonNode parse(String body) {
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new MalformedAnswer("malformed JSON answer" + snippet(body));
        }
        if (node == null || node.isMissingNode()) {
            throw new MalformedAnswer("empty answer where JSON was expected");
        }
        // AgentGym servers (ALFWorld) report their own failures as HTTP 200 {"error": "..."}.
        if (node.isObject() && node.has("error") && !node.get("error").isNull()) {
            JsonNode error = node.get("error");
            throw new MalformedAnswer("the server reported an error: " + (error.isTextual() ? error.asText() : error));
        }
        return node;
    }

    private static String snippet(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        String flat = body.strip().replaceAll("\\s+", " ");
        return ": " + (flat.length() > SNIPPET ? flat.substring(0, SNIPPET) + "..." : flat);
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        String type = e.getClass().getSimpleName();
        if (message == null || message.isBlank()) {
            Throwable cause = e.getCause();
            return cause != null && cause != e ? type + ": " + describe(cause) : type;
        }
        return type + ": " + message;
    }

    /** One failed attempt: whether the request may have reached the server, whether a repeatable call may retry. */
    private record Attempt(String cause, boolean mayHaveReached, boolean repeatable, Throwable source) {

        static Attempt reached(String cause, boolean repeatable, Throwable source) {
            return new Attempt(cause, true, repeatable, source);
        }

        static Attempt notReached(String cause, Throwable source) {
            return new Attempt(cause, false, true, source);
        }
    }
}
