package io.rollout.actor.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/**
 * The actor's {@code /metrics} (Prometheus), {@code /health} (liveness: 200 until the actor
 * failed or drains, 503 then) and {@code /ready} (readiness: 200 while it takes tasks, 503 during
 * an env-service or Kafka outage): the shared {@code MetricsHttpServer} has no readiness path.
 */
final class ActorHttpServer implements AutoCloseable {

    private final HttpServer server;

    private ActorHttpServer(HttpServer server) {
        this.server = server;
    }

    static ActorHttpServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier healthy,
            BooleanSupplier ready) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
            server.createContext("/metrics", exchange -> {
                if (!"GET".equals(exchange.getRequestMethod())) {
                    respond(exchange, 405, "text/plain", "only GET\n");
                    return;
                }
                respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
            });
            server.createContext("/health", exchange -> status(exchange, healthy.getAsBoolean()));
            server.createContext("/ready", exchange -> status(exchange, ready.getAsBoolean()));
            server.setExecutor(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "metrics-http");
                t.setDaemon(true);
                return t;
            }));
            server.start();
            return new ActorHttpServer(server);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    private static void status(HttpExchange exchange, boolean ok) throws IOException {
        respond(exchange, ok ? 200 : 503, "application/json", "{\"status\":\"" + (ok ? "UP" : "DOWN") + "\"}\n");
    }

    private static void respond(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The base URL, e.g. {@code http://127.0.0.1:9406}. */
    String url() {
        InetSocketAddress a = server.getAddress();
        return "http://" + a.getHostString() + ":" + a.getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
