package io.rollout.env.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pooled HTTP/1.1 transport against a real socket server that plays scripted answers. */
class HttpTransportTest {

    private ServerSocket server;
    private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    private final List<String> requestLines = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicLong clock = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();
    private HttpTransport transport;

    @BeforeEach
    void start() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "scripted-http-server");
        acceptor.setDaemon(true);
        acceptor.start();
        threads.add(acceptor);
        transport = new HttpTransport(URI.create("http://127.0.0.1:" + server.getLocalPort()), Duration.ofSeconds(1),
                Duration.ofSeconds(2), Duration.ofSeconds(15), clock::get);
    }

    @AfterEach
    void stop() throws IOException {
        transport.close();
        server.close();
    }

    @Test
    void shouldReuseOneConnectionForSequentialCalls() throws Exception {
        answers.add(ok("{\"a\":1}"));
        answers.add(ok("{\"a\":2}"));

        assertThat(body(transport.exchange("POST", "/x", "{}".getBytes()))).isEqualTo("{\"a\":1}");
        assertThat(body(transport.exchange("GET", "/y", null))).isEqualTo("{\"a\":2}");

        assertThat(connections).hasValue(1);
        assertThat(requestLines).containsExactly("POST /x HTTP/1.1", "GET /y HTTP/1.1");
    }

    @Test
    void shouldReadChunkedAnswers() throws Exception {
        answers.add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n");
        answers.add(ok("{}"));

        assertThat(body(transport.exchange("GET", "/c", null))).isEqualTo("{\"a\":1}");
        assertThat(body(transport.exchange("GET", "/d", null))).isEqualTo("{}");
        assertThat(connections).as("the connection stays usable after a chunked body").hasValue(1);
    }

    @Test
    void shouldNotReuseAConnectionTheServerCloses() throws Exception {
        answers.add("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        answers.add(ok("{}"));

        assertThat(transport.exchange("GET", "/a", null).status()).isEqualTo(404);
        assertThat(transport.exchange("GET", "/b", null).status()).isEqualTo(200);
        assertThat(connections).hasValue(2);
    }

    @Test
    void shouldOpenANewConnectionWhenTheIdleOneIsTooOld() throws Exception {
        answers.add(ok("{}"));
        answers.add(ok("{}"));

        transport.exchange("GET", "/a", null);
        clock.addAndGet(Duration.ofSeconds(16).toNanos());
        transport.exchange("GET", "/b", null);

        assertThat(connections).hasValue(2);
    }

    @Test
    void shouldTimeOutASilentServer() {
        answers.add("SILENT");

        assertThatThrownBy(() -> transport.exchange("POST", "/slow", "{}".getBytes()))
                .isInstanceOf(SocketTimeoutException.class);
    }

    @Test
    void shouldRejectMalformedAnswers() {
        answers.add("SSH-2.0-OpenSSH\r\n\r\n");
        assertThatThrownBy(() -> transport.exchange("GET", "/a", null))
                .isInstanceOf(IOException.class).hasMessageContaining("not an HTTP/1.x answer");

        answers.add("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}");
        assertThatThrownBy(() -> transport.exchange("GET", "/b", null))
                .isInstanceOf(IOException.class);

        answers.add("HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n{}");
        assertThatThrownBy(() -> transport.exchange("GET", "/c", null))
                .isInstanceOf(IOException.class).hasMessageContaining("malformed Content-Length");
    }

    @Test
    void shouldReadABodyThatRunsToTheEndOfAnHttp10Connection() throws Exception {
        answers.add("HTTP/1.0 200 OK\r\n\r\n{\"old\":true}");

        assertThat(body(transport.exchange("GET", "/a", null))).isEqualTo("{\"old\":true}");
    }

    private static String ok(String json) {
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + json.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + json;
    }

    private static String body(HttpTransport.Response response) {
        return new String(response.body(), StandardCharsets.UTF_8);
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                connections.incrementAndGet();
                Thread handler = new Thread(() -> serve(socket), "scripted-http-connection");
                handler.setDaemon(true);
                handler.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Reads each request (headers and Content-Length body) and writes the next scripted answer. */
    private void serve(Socket socket) {
        try (socket) {
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
            OutputStream out = socket.getOutputStream();
            while (true) {
                String requestLine = in.readLine();
                if (requestLine == null) {
                    return;
                }
                requestLines.add(requestLine);
                int length = 0;
                for (String h = in.readLine(); h != null && !h.isEmpty(); h = in.readLine()) {
                    if (h.toLowerCase().startsWith("content-length:")) {
                        length = Integer.parseInt(h.substring(15).trim());
                    }
                }
                in.skip(length);
                String answer = answers.take();
                if (answer.equals("SILENT")) {
                    Thread.sleep(5_000);
                    return;
                }
                out.write(answer.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (answer.startsWith("HTTP/1.0") || answer.contains("Connection: close")
                        || answer.contains("Content-Length: 10\r\n")) {
                    return;
                }
            }
        } catch (IOException | InterruptedException e) {
            // The test ended or the client went away.
        }
    }
}
