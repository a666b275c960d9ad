package io.rollout.env.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

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
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pooled HTTP/1.1 transport against a real socket server that plays scripted answers. */
class HttpTransportTest {

    private ServerSocket server;
    private final BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    private final List<String> requestLines = new CopyOnWriteArrayList<>();
    private final List<String> headers = new CopyOnWriteArrayList<>();
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

    @Test
    void shouldHoldTheDeadlineAgainstAnAnswerThatDripsAByteAtATime() {
        // 300 body bytes at one per 100 ms: every read comes well within a socket timeout, but the
        // whole answer takes 30 s, against a request timeout of 1 s.
        answers.add("DRIP");
        HttpTransport timed = new HttpTransport(URI.create("http://127.0.0.1:" + server.getLocalPort()),
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(15), System::nanoTime);

        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() -> timed.exchange("GET", "/drip", null))
                .isInstanceOf(SocketTimeoutException.class));
        timed.close();
    }

    @Test
    void shouldRefuseAnAnswerLargerThanItsBound() {
        answers.add("HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n{");
        assertThatThrownBy(() -> transport.exchange("GET", "/a", null))
                .isInstanceOf(HttpTransport.AnswerTooLargeException.class)
                .hasMessage("the answer body of 2000000 bytes exceeds this client's limit of 1048576 bytes");

        answers.add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + "ffff\r\n" + "x".repeat(0xffff)
                + "\r\n" + "ffff\r\n" + "x".repeat(0xffff) + "\r\n");
        HttpTransport small = new HttpTransport(URI.create("http://127.0.0.1:" + server.getLocalPort()),
                Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(15), clock::get, 100_000, null, null);
        assertThatThrownBy(() -> small.exchange("GET", "/b", null))
                .isInstanceOf(HttpTransport.AnswerTooLargeException.class)
                .hasMessageContaining("exceeds this client's limit of 100000 bytes");
        small.close();
    }

    @Test
    void shouldSendTheAuthorizationHeader() throws Exception {
        answers.add(ok("{}"));
        HttpTransport authorized = new HttpTransport(URI.create("http://127.0.0.1:" + server.getLocalPort()),
                Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(15), clock::get, 1 << 20,
                "Bearer abc", null);

        authorized.exchange("GET", "/a", null);

        assertThat(headers).contains("Authorization: Bearer abc");
        authorized.close();
    }

    @Test
    void shouldRefuseACertificateForAnotherHost(@TempDir Path dir) throws Exception {
        TestCertificates.Pair wrong = TestCertificates.create(dir, "wrong.example", "dns:wrong.example");
        TestCertificates.Pair right = TestCertificates.create(dir, "localhost", "dns:localhost,ip:127.0.0.1");
        try (TlsServer wrongServer = new TlsServer(wrong.server()); TlsServer rightServer = new TlsServer(right.server())) {
            // The client trusts the wrong certificate: only the host name check can refuse it.
            for (String host : List.of("localhost", "127.0.0.1")) {
                HttpTransport refused = tls(host, wrongServer.port(), wrong.client());
                assertThatThrownBy(() -> refused.exchange("GET", "/a", null))
                        .as(host).isInstanceOf(SSLHandshakeException.class)
                        .hasMessageContaining(host.equals("localhost") ? "No subject alternative DNS name matching localhost"
                                : "No subject alternative names matching IP address 127.0.0.1");
                refused.close();

                HttpTransport accepted = tls(host, rightServer.port(), right.client());
                assertThat(body(accepted.exchange("GET", "/a", null))).isEqualTo("{\"tls\":true}");
                accepted.close();
            }
            assertThat(rightServer.serverNames).as("SNI names the host, never an IP").containsExactly("localhost");
        }
    }

    private HttpTransport tls(String host, int port, SSLContext client) {
        return new HttpTransport(URI.create("https://" + host + ":" + port), Duration.ofSeconds(20), Duration.ofSeconds(20),
                Duration.ofSeconds(15), System::nanoTime, 1 << 20, null, client.getSocketFactory());
    }

    /** A TLS server that answers every request on a connection with one JSON body, recording the SNI names it saw. */
    private static final class TlsServer implements AutoCloseable {
        final List<String> serverNames = new CopyOnWriteArrayList<>();
        private final SSLServerSocket socket;

        TlsServer(SSLContext context) throws IOException {
            socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 50,
                    InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (SSLSocket connection = (SSLSocket) socket.accept()) {
                        connection.setSoTimeout(5_000);
                        connection.startHandshake();
                        if (connection.getSession() instanceof ExtendedSSLSession session) {
                            session.getRequestedServerNames().forEach(
                                    n -> serverNames.add(new String(n.getEncoded(), StandardCharsets.US_ASCII)));
                        }
                        BufferedReader in = new BufferedReader(new InputStreamReader(connection.getInputStream(),
                                StandardCharsets.ISO_8859_1));
                        for (String h = in.readLine(); h != null && !h.isEmpty(); h = in.readLine()) {
                            // headers: ignored
                        }
                        connection.getOutputStream().write(ok("{\"tls\":true}").getBytes(StandardCharsets.ISO_8859_1));
                        connection.getOutputStream().flush();
                    } catch (IOException e) {
                        // A refused handshake or the end of the test.
                    }
                }
            }, "tls-test-server");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
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
                    headers.add(h);
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
                if (answer.equals("DRIP")) {
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    for (int i = 0; i < 300; i++) {
                        out.write(' ');
                        out.flush();
                        Thread.sleep(100);
                    }
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
