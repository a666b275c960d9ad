package io.rollout.actor.play;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP proxy in front of a real env-service that counts requests by route, keeps the
 * ids of the sessions it saw created, and can answer {@code POST /v1/steps} itself: as a service
 * without that route would (404 {@code not_found}), or with every item left unapplied
 * (503 {@code batch_answer_full}); and the batched session routes as a service without them
 * would (404 and 405, as an env-service before them answers).
 */
final class EnvProxy implements AutoCloseable {

    /** What the proxy does with {@code POST /v1/steps}. */
    enum StepsRoute { FORWARD, MISSING, ALWAYS_FULL }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String target;
    private final StepsRoute steps;
    private final boolean sessionBatches;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    private final List<String> sessions = Collections.synchronizedList(new ArrayList<>());

    EnvProxy(String target, StepsRoute steps) throws IOException {
        this(target, steps, true);
    }

    /** @param sessionBatches forward {@code POST /v1/sessions/batch} and {@code /close}, or answer them as a service without them */
    EnvProxy(String target, StepsRoute steps, boolean sessionBatches) throws IOException {
        this.target = target;
        this.steps = steps;
        this.sessionBatches = sessionBatches;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(threads);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /**
     * Requests seen on a route, e.g. {@code POST /v1/steps}, {@code POST /v1/sessions/{id}/step},
     * {@code POST /v1/sessions/batch} or {@code DELETE /v1/sessions/{id}}.
     */
    int requests(String route) {
        AtomicInteger n = requests.get(route);
        return n == null ? 0 : n.get();
    }

    /** The ids of the sessions created through the proxy, in the order of their answers. */
    List<String> sessions() {
        return List.copyOf(sessions);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try {
            String method = exchange.getRequestMethod();
            String path = exchange.getRequestURI().getPath();
            byte[] body = exchange.getRequestBody().readAllBytes();
            String route = method + " " + path.replaceFirst("^/v1/sessions/(?!batch$|close$)[^/]+",
                    "/v1/sessions/{id}");
            requests.computeIfAbsent(route, r -> new AtomicInteger()).incrementAndGet();
            if (!sessionBatches && route.equals("POST /v1/sessions/batch")) {
                answer(exchange, 404, "{\"error\":\"not_found\",\"message\":\"no route POST /v1/sessions/batch\"}"
                        .getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (!sessionBatches && route.equals("POST /v1/sessions/close")) {
                answer(exchange, 405, ("{\"error\":\"method_not_allowed\",\"message\":\"POST is not allowed on "
                        + "/v1/sessions/close\"}").getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (route.equals("POST /v1/steps") && steps == StepsRoute.MISSING) {
                answer(exchange, 404, "{\"error\":\"not_found\",\"message\":\"no route POST /v1/steps\"}"
                        .getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (route.equals("POST /v1/steps") && steps == StepsRoute.ALWAYS_FULL) {
                answer(exchange, 200, allFull(JSON.readTree(body)));
                return;
            }
            HttpRequest.Builder forward = HttpRequest.newBuilder(URI.create(target + exchange.getRequestURI()))
                    .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofByteArray(body));
            if (body.length > 0) {
                forward.header("Content-Type", "application/json");
            }
            HttpResponse<byte[]> response = http.send(forward.build(), HttpResponse.BodyHandlers.ofByteArray());
            if (route.equals("POST /v1/sessions") && response.statusCode() == 201) {
                sessions.add(JSON.readTree(response.body()).get("session").asText());
            }
            if (route.equals("POST /v1/sessions/batch") && response.statusCode() == 200) {
                for (JsonNode item : JSON.readTree(response.body()).get("results")) {
                    if (item.path("status").asInt() == 201) {
                        sessions.add(item.get("result").get("session").asText());
                    }
                }
            }
            answer(exchange, response.statusCode(), response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            exchange.close();
        }
    }

    private static byte[] allFull(JsonNode request) throws IOException {
        ObjectNode answer = JSON.createObjectNode();
        ArrayNode results = answer.putArray("results");
        for (JsonNode item : request.get("steps")) {
            ObjectNode result = results.addObject();
            result.put("session", item.get("session").asText());
            result.put("status", 503);
            result.putObject("error").put("error", "batch_answer_full").put("message", "not applied");
        }
        return JSON.writeValueAsBytes(answer);
    }

    private static void answer(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            exchange.getResponseBody().write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
