package io.rollout.env.remote;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;

/**
 * A real HTTP server on a loopback port speaking the AgentGym environment-server protocol in three
 * dialects (as agentenv-alfworld, agentenv-webshop, and the common id/data_idx shape) for a tiny
 * deterministic household game. It counts requests per route, records request bodies and queries,
 * and injects faults on demand.
 *
 * <p>The game with index {@code i}: an item ({@code apple, book, cup}[i mod 3]) lies on the table
 * (even i) or the shelf (odd i). {@code go to table 1}, {@code go to shelf 1}, {@code look} and, where
 * the item lies, {@code take ITEM from PLACE} (reward 1, done) are admissible; anything else answers
 * {@code Nothing happens.}. Hidden actions: {@code settle} (reward 0.5, done), {@code quit} (reward 0, done).
 */
final class AgentGymTestServer implements AutoCloseable {

    enum Dialect { ALFWORLD, WEBSHOP, GENERIC }

    enum Fault { HTTP_500, HTTP_503, MALFORMED_JSON, ERROR_PAYLOAD, SLOW, WRONG_SHAPE, HUGE, DRIP }

    static final int GAMES = 20;
    private static final String[] ITEMS = {"apple", "book", "cup"};
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Dialect dialect;
    private final Map<Long, Game> envs = new ConcurrentHashMap<>();
    private final AtomicLong nextId;
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();
    private final Map<String, List<JsonNode>> bodies = new ConcurrentHashMap<>();
    private final Map<String, List<String>> queries = new ConcurrentHashMap<>();
    private final Map<String, Queue<Fault>> faults = new ConcurrentHashMap<>();
    private volatile long slowMillis = 1_000;
    private volatile boolean closeRoute = true;
    private volatile boolean resetWithoutObservation;
    private volatile boolean closeConnections;
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "agentgym-test-server");
        t.setDaemon(true);
        return t;
    });
    private final SSLContext tls;
    private HttpServer server;
    private int port;

    private AgentGymTestServer(Dialect dialect, SSLContext tls) {
        this.dialect = dialect;
        this.tls = tls;
        this.nextId = new AtomicLong(dialect == Dialect.WEBSHOP ? 48_000_000L : 0L);
    }

    static AgentGymTestServer start(Dialect dialect) throws IOException {
        AgentGymTestServer s = new AgentGymTestServer(dialect, null);
        s.listen(0);
        return s;
    }

    /** The server over https with the key and certificate of {@code tls}. */
    static AgentGymTestServer startTls(Dialect dialect, SSLContext tls) throws IOException {
        AgentGymTestServer s = new AgentGymTestServer(dialect, tls);
        s.listen(0);
        return s;
    }

    String url() {
        return tls == null ? "http://127.0.0.1:" + port : "https://localhost:" + port;
    }

    int port() {
        return port;
    }

    /** Answers the next request to {@code route} with {@code fault} (faults queue up per route). */
    AgentGymTestServer failNext(String route, Fault fault) {
        faults.computeIfAbsent(route, k -> new ConcurrentLinkedQueue<>()).add(fault);
        return this;
    }

    AgentGymTestServer slowMillis(long millis) {
        this.slowMillis = millis;
        return this;
    }

    /** Whether POST /close exists (the ALFWorld server of AgentGym has none: 404). */
    AgentGymTestServer closeRoute(boolean exists) {
        this.closeRoute = exists;
        return this;
    }

    AgentGymTestServer resetWithoutObservation(boolean without) {
        this.resetWithoutObservation = without;
        return this;
    }

    /** Answers with Connection: close, so clients keep no pooled connection to a stopped server. */
    AgentGymTestServer closeConnections(boolean close) {
        this.closeConnections = close;
        return this;
    }

    int count(String route) {
        AtomicInteger n = counts.get(route);
        return n == null ? 0 : n.get();
    }

    List<JsonNode> bodies(String route) {
        return List.copyOf(bodies.getOrDefault(route, List.of()));
    }

    List<String> queries(String route) {
        return List.copyOf(queries.getOrDefault(route, List.of()));
    }

    int liveEnvs() {
        return envs.size();
    }

    /** Stops listening; the games survive for {@link #restart}. */
    void stop() {
        server.stop(0);
    }

    /** Listens again on the same port, with the same games. */
    void restart() throws IOException {
        listen(port);
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        try {
            executor.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void listen(int onPort) throws IOException {
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort);
        if (tls == null) {
            server = HttpServer.create(address, 0);
        } else {
            HttpsServer https = HttpsServer.create(address, 0);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            server = https;
        }
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        port = server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) {
        try {
            String route = ex.getRequestURI().getPath();
            counts.computeIfAbsent(route, k -> new AtomicInteger()).incrementAndGet();
            String raw = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            JsonNode body = raw.isBlank() ? JSON.createObjectNode() : JSON.readTree(raw);
            bodies.computeIfAbsent(route, k -> Collections.synchronizedList(new ArrayList<>())).add(body);
            String query = ex.getRequestURI().getRawQuery();
            queries.computeIfAbsent(route, k -> Collections.synchronizedList(new ArrayList<>()))
                    .add(query == null ? "" : URLDecoder.decode(query, StandardCharsets.UTF_8));

            Fault fault = faults.getOrDefault(route, new ConcurrentLinkedQueue<>()).poll();
            if (fault != null) {
                switch (fault) {
                    case HTTP_500 -> {
                        send(ex, 500, "Internal Server Error");
                        return;
                    }
                    case HTTP_503 -> {
                        send(ex, 503, "Service Unavailable");
                        return;
                    }
                    case MALFORMED_JSON -> {
                        send(ex, 200, "{\"observation\": \"half an answ");
                        return;
                    }
                    case ERROR_PAYLOAD -> {
                        send(ex, 200, "{\"error\": \"CUDA out of memory in the game engine\"}");
                        return;
                    }
                    case WRONG_SHAPE -> {
                        send(ex, 200, "{\"unexpected\": true}");
                        return;
                    }
                    case SLOW -> {
                        try {
                            Thread.sleep(slowMillis);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                    case HUGE -> {
                        send(ex, 200, "{\"observation\": \"" + "x".repeat(2 << 20) + "\"}");
                        return;
                    }
                    case DRIP -> {
                        // 300 bytes at one per 100 ms: each comes quickly, the whole answer takes 30 s.
                        ex.sendResponseHeaders(200, 300);
                        try (OutputStream out = ex.getResponseBody()) {
                            for (int i = 0; i < 300; i++) {
                                out.write(' ');
                                out.flush();
                                Thread.sleep(100);
                            }
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return;
                    }
                }
            }
            Object answer = route(ex.getRequestMethod(), route, body, query);
            if (answer == null) {
                send(ex, 404, "{\"detail\":\"Not Found\"}");
            } else if (answer instanceof Status status) {
                send(ex, status.code, JSON.writeValueAsString(status.body));
            } else {
                send(ex, 200, JSON.writeValueAsString(answer));
            }
        } catch (IOException e) {
            // the client went away (a timed-out request): nothing to answer
        } catch (RuntimeException e) {
            try {
                send(ex, 500, "test server bug: " + e);
            } catch (IOException ignored) {
                // nothing more to do
            }
        } finally {
            ex.close();
        }
    }

    private record Status(int code, Object body) {
    }

    private String idField() {
        return dialect == Dialect.WEBSHOP ? "env_idx" : "id";
    }

    private Object route(String method, String route, JsonNode body, String query) {
        switch (method + " " + route) {
            case "POST /create": {
                long id = nextId.getAndIncrement();
                envs.put(id, new Game());
                return switch (dialect) {
                    case WEBSHOP -> id;
                    case ALFWORLD -> JSON.createObjectNode().put("id", id);
                    case GENERIC -> JSON.createObjectNode().put("id", id).put("observation", "created");
                };
            }
            case "POST /reset": {
                String indexField = switch (dialect) {
                    case ALFWORLD -> "game";
                    case WEBSHOP -> "session_id";
                    case GENERIC -> "data_idx";
                };
                if (!body.path(idField()).isIntegralNumber() || !body.path(indexField).isIntegralNumber()
                        || (dialect == Dialect.ALFWORLD && !body.path("world_type").isTextual())) {
                    return new Status(422, Map.of("detail", "validation error: " + body));
                }
                Game game = envs.get(body.get(idField()).asLong());
                long index = body.get(indexField).asLong();
                if (game == null || index < 0 || index >= GAMES) {
                    return JSON.createObjectNode().put("error", "bad id or index");
                }
                String text = game.reset((int) index);
                return switch (dialect) {
                    case ALFWORLD -> {
                        ObjectNode a = JSON.createObjectNode().put("id", body.get("id").asLong())
                                .put("observation", text);
                        a.set("available_actions", array(game.admissible()));
                        a.put("task_type", "pick_and_place_simple/trial_" + index);
                        yield a;
                    }
                    case WEBSHOP -> {
                        ArrayNode pair = JSON.createArrayNode();
                        pair.add(text);
                        pair.addNull();
                        yield pair;
                    }
                    case GENERIC -> resetWithoutObservation
                            ? JSON.createObjectNode().put("id", body.get("id").asLong())
                            : JSON.createObjectNode().put("observation", text);
                };
            }
            case "POST /step": {
                Game game = envs.get(body.path(idField()).asLong(-1));
                if (game == null || !body.path("action").isTextual()) {
                    return new Status(422, Map.of("detail", "validation error"));
                }
                if (game.done) {
                    return JSON.createObjectNode().put("error", "The task has finished.");
                }
                String action = body.get("action").asText();
                if (dialect == Dialect.WEBSHOP) {
                    action = action.startsWith("click[") && action.endsWith("]")
                            ? action.substring(6, action.length() - 1) : "";
                }
                Outcome o = game.step(action);
                ObjectNode a = JSON.createObjectNode();
                a.put(dialect == Dialect.WEBSHOP ? "state" : "observation", o.text);
                a.put("reward", o.reward);
                a.put("done", o.done);
                switch (dialect) {
                    case ALFWORLD -> a.set("available_actions", array(game.admissible()));
                    case WEBSHOP -> a.putNull("info");
                    case GENERIC -> a.put("won", o.reward >= 1.0);
                }
                return a;
            }
            case "GET /observation": {
                Game game = envs.get(queryId(query));
                return game == null ? JSON.createObjectNode().put("error", "bad id") : game.lastText;
            }
            case "GET /available_actions": {
                Game game = envs.get(queryId(query));
                if (game == null) {
                    return JSON.createObjectNode().put("error", "bad id");
                }
                if (dialect != Dialect.WEBSHOP) {
                    return array(game.admissible());
                }
                ObjectNode a = JSON.createObjectNode().put("has_search_bar", true);
                List<String> clickables = new ArrayList<>();
                clickables.add("search");
                clickables.addAll(game.admissible());
                a.set("clickables", array(clickables));
                return a;
            }
            case "POST /close": {
                if (!closeRoute) {
                    return null;
                }
                boolean closed = envs.remove(body.path(idField()).asLong(-1)) != null;
                return JSON.createObjectNode().put("closed", closed);
            }
            default:
                return null;
        }
    }

    private long queryId(String query) {
        String prefix = idField() + "=";
        if (query == null || !query.startsWith(prefix)) {
            return -1;
        }
        return Long.parseLong(query.substring(prefix.length()));
    }

    private static ArrayNode array(List<String> items) {
        ArrayNode a = JSON.createArrayNode();
        items.forEach(a::add);
        return a;
    }

    private void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        if (closeConnections) {
            ex.getResponseHeaders().set("Connection", "close");
        }
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private record Outcome(String text, double reward, boolean done) {
    }

    /** The tiny household game of one server-side environment. */
    static final class Game {
        private String item;
        private String place;
        private String at;
        private boolean done;
        private String lastText = "";

        String reset(int index) {
            item = ITEMS[index % ITEMS.length];
            place = index % 2 == 0 ? "table 1" : "shelf 1";
            at = "middle";
            done = false;
            lastText = "You are in the middle of room " + index
                    + ". Looking quickly around you, you see a shelf 1 and a table 1.\nYour task is to: take the "
                    + item + ".";
            return lastText;
        }

        List<String> admissible() {
            List<String> actions = new ArrayList<>(List.of("go to shelf 1", "go to table 1", "look"));
            if (at.equals(place) && !done) {
                actions.add("take " + item + " from " + place);
            }
            return actions;
        }

        Outcome step(String action) {
            Outcome o;
            if (action.equals("go to table 1") || action.equals("go to shelf 1")) {
                at = action.substring("go to ".length());
                o = new Outcome("On the " + at + ", you see " + (at.equals(place) ? "a " + item : "nothing") + ".",
                        0, false);
            } else if (action.equals("look")) {
                o = new Outcome("You are facing the " + at + ".", 0, false);
            } else if (at.equals(place) && action.equals("take " + item + " from " + place)) {
                done = true;
                o = new Outcome("You pick up the " + item + " from the " + place + ".", 1.0, true);
            } else if (action.equals("settle")) {
                done = true;
                o = new Outcome("You settle for something else.", 0.5, true);
            } else if (action.equals("quit")) {
                done = true;
                o = new Outcome("You give up.", 0.0, true);
            } else {
                o = new Outcome("Nothing happens.", 0, false);
            }
            lastText = o.text;
            return o;
        }
    }
}
