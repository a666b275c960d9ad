package io.rollout.runtime.metrics;

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
 * {@code /metrics} (Prometheus text format), {@code /health} (liveness: 503 only when the process
 * should be restarted) and {@code /ready} (readiness: 503 until the service can do its work, e.g.
 * while it restores state or during an outage; without a readiness supplier, ready = healthy) on
 * the JDK's HTTP server. {@link MetricsAuth} says who may read {@code /metrics}; {@code /health}
 * and {@code /ready} are open to probes.
 */
public final class MetricsHttpServer implements AutoCloseable {

    private final HttpServer server;

    private MetricsHttpServer(HttpServer server) {
        this.server = server;
    }

    /**
     * Starts serving on {@code host:port} (port 0 takes a free one) without a token, which only
     * a loopback {@code host} allows: {@code start(host, port, registry, healthy, MetricsAuth.none())};
     * {@code /ready} answers as {@code /health}.
     */
    public static MetricsHttpServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier healthy) {
        return start(host, port, registry, healthy, MetricsAuth.none());
    }

    /**
     * Starts serving on {@code host:port} (port 0 takes a free one); {@code /metrics} answers
     * 401 to a request {@code auth} does not permit; {@code /ready} answers as {@code /health}.
     *
     * @throws IllegalArgumentException if {@code auth} has no token, does not allow insecure
     *     serving and {@code host} is not a loopback address
     */
    public static MetricsHttpServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier healthy,
            MetricsAuth auth) {
        return start(host, port, registry, healthy, null, auth);
    }

    /**
     * {@link #start(String, int, PrometheusMeterRegistry, BooleanSupplier, MetricsAuth)} with
     * {@code /ready} answering {@code ready}, or {@code healthy} when {@code ready} is null.
     */
    public static MetricsHttpServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier healthy,
            BooleanSupplier ready, MetricsAuth auth) {
        auth.checkAddress(host);
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
            server.createContext("/metrics", exchange -> {
                if (!auth.permits(exchange.getRequestHeaders().getFirst("Authorization"))) {
                    exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"metrics\"");
                    respond(exchange, 401, "text/plain", "a bearer token is required\n");
                    return;
                }
                if (!"GET".equals(exchange.getRequestMethod())) {
                    respond(exchange, 405, "text/plain", "only GET\n");
                    return;
                }
                respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
            });
            server.createContext("/health", exchange -> status(exchange, healthy.getAsBoolean()));
            BooleanSupplier readiness = ready != null ? ready : healthy;
            server.createContext("/ready", exchange -> status(exchange, readiness.getAsBoolean()));
            server.setExecutor(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "metrics-http");
                t.setDaemon(true);
                return t;
            }));
            server.start();
            return new MetricsHttpServer(server);
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

    /** The base URL, e.g. {@code http://127.0.0.1:9404}. */
    public String url() {
        InetSocketAddress a = server.getAddress();
        return "http://" + a.getHostString() + ":" + a.getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
