package io.rollout.env.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.FilterInputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.LongSupplier;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * A blocking HTTP/1.1 client for one origin with a pool of keep-alive connections: each
 * call borrows a connection, writes the request, reads the whole answer and returns the
 * connection. It speaks just what the env-service API needs (JSON bodies, Content-Length
 * or chunked answers), and costs a fraction of the JDK's asynchronous client per call,
 * which matters when many actor threads step at once (docs/benchmarks.md).
 *
 * <p>Nothing is retried. A connection idle for longer than {@code idleTimeout} is closed
 * instead of reused, so a request is not written into a connection the server has
 * already dropped (the server's idle timeout must be longer; Jetty's is 30 s).
 *
 * <p>Each call has one deadline, the request timeout, over connecting, the TLS handshake and
 * every read: a server that drips its answer a byte at a time cannot hold the caller longer.
 * An answer body larger than {@code maxBodyBytes} is refused. Over https the server's
 * certificate must name the host of the URL (endpoint identification, as browsers do), and
 * the host name is sent as SNI.
 *
 * <p>Longer than most classes because it is a small HTTP/1.1 client of its own (connection pool,
 * chunked bodies, TLS host check, one deadline over every read), which the JDK's client cannot give
 * per call.
 */
final class HttpTransport implements AutoCloseable {

    private static final int MAX_HEADER_BYTES = 64 * 1024;
    /** The answer size bound when none is given: far above any env-service answer, below any broker's limit. */
    static final int DEFAULT_MAX_BODY_BYTES = 1 << 20;

    /** The answer is larger than the transport accepts. */
    static final class AnswerTooLargeException extends IOException {
        AnswerTooLargeException(String message) {
            super(message);
        }
    }

    /** A status and a body. */
    record Response(int status, byte[] body) {
    }

    private final String host;
    private final int port;
    private final boolean tls;
    private final String hostHeader;
    private final int connectTimeoutMs;
    private final long requestTimeoutNanos;
    private final long idleTimeoutNanos;
    private final LongSupplier nanoClock;
    private final int maxBodyBytes;
    private final String authorization;
    private final SSLSocketFactory tlsFactory;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    HttpTransport(URI base, Duration connectTimeout, Duration requestTimeout, Duration idleTimeout, LongSupplier nanoClock) {
        this(base, connectTimeout, requestTimeout, idleTimeout, nanoClock, DEFAULT_MAX_BODY_BYTES, null, null);
    }

    /**
     * @param maxBodyBytes  largest answer body accepted
     * @param authorization the {@code Authorization} header value to send with every request, or null
     * @param tlsFactory    the TLS sockets for https (null: the JVM's default trust)
     */
    HttpTransport(URI base, Duration connectTimeout, Duration requestTimeout, Duration idleTimeout, LongSupplier nanoClock,
            int maxBodyBytes, String authorization, SSLSocketFactory tlsFactory) {
        this.tls = "https".equals(base.getScheme());
        this.host = base.getHost();
        this.port = base.getPort() > 0 ? base.getPort() : tls ? 443 : 80;
        this.hostHeader = base.getPort() > 0 ? host + ":" + port : host;
        this.connectTimeoutMs = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.idleTimeoutNanos = idleTimeout.toNanos();
        this.nanoClock = nanoClock;
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("the answer size bound must be positive, got " + maxBodyBytes);
        }
        this.maxBodyBytes = maxBodyBytes;
        this.authorization = authorization;
        this.tlsFactory = tlsFactory != null ? tlsFactory : (SSLSocketFactory) SSLSocketFactory.getDefault();
    }

    /**
     * Sends one request and reads the whole answer.
     *
     * @throws SocketTimeoutException   when the connection or the whole answer does not come within the
     *                                  request timeout
     * @throws AnswerTooLargeException  when the answer body is larger than the bound
     * @throws IOException              for any other transport failure or a malformed answer
     */
    Response exchange(String method, String path, byte[] body) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        long deadline = nanoClock.getAsLong() + requestTimeoutNanos;
        Connection connection = borrow(deadline);
        boolean reusable = false;
        try {
            connection.in.deadline = deadline;
            connection.write(request(method, path, body));
            Response response = connection.read(method);
            reusable = connection.keepAlive;
            return response;
        } finally {
            if (reusable && !closed) {
                connection.lastUsedNanos = nanoClock.getAsLong();
                idle.push(connection);
            } else {
                connection.closeQuietly();
            }
        }
    }

    private Connection borrow(long deadline) throws IOException {
        long now = nanoClock.getAsLong();
        for (Connection c = idle.poll(); c != null; c = idle.poll()) {
            if (now - c.lastUsedNanos < idleTimeoutNanos && !c.socket.isClosed()) {
                c.reused = true;
                return c;
            }
            c.closeQuietly();
        }
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            socket.connect(new InetSocketAddress(host, port), (int) Math.min(connectTimeoutMs, remainingMillis(deadline)));
            if (tls) {
                socket = handshake(socket, deadline);
            }
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        return new Connection(socket);
    }

    /**
     * TLS over a connected socket, checking that the certificate names the URL's host: without
     * endpoint identification any certificate the trust store accepts would do, whatever host it is for.
     */
    private Socket handshake(Socket plain, long deadline) throws IOException {
        String bareHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        SSLSocket socket = (SSLSocket) tlsFactory.createSocket(plain, bareHost, port, true);
        try {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            if (!isIpLiteral(bareHost)) {
                parameters.setServerNames(List.of(new SNIHostName(bareHost)));
            }
            socket.setSSLParameters(parameters);
            socket.setSoTimeout((int) remainingMillis(deadline));
            socket.startHandshake();
            return socket;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    private static boolean isIpLiteral(String host) {
        return host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }

    /** Milliseconds to the deadline, at least 1; a SocketTimeoutException once it has passed. */
    private long remainingMillis(long deadline) throws SocketTimeoutException {
        long remaining = deadline - nanoClock.getAsLong();
        if (remaining <= 0) {
            throw new SocketTimeoutException("no complete answer within the request timeout of "
                    + requestTimeoutNanos / 1_000_000 + " ms");
        }
        return Math.max(1, Math.min(Integer.MAX_VALUE, (remaining + 999_999) / 1_000_000));
    }

    private byte[] request(String method, String path, byte[] body) {
        StringBuilder head = new StringBuilder(160)
                .append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(hostHeader).append("\r\n")
                .append("Accept: application/json\r\n");
        if (authorization != null) {
            head.append("Authorization: ").append(authorization).append("\r\n");
        }
        if (body != null) {
            head.append("Content-Type: application/json\r\n");
        }
        head.append("Content-Length: ").append(body == null ? 0 : body.length).append("\r\n\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
        if (body == null || body.length == 0) {
            return headBytes;
        }
        byte[] all = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, all, 0, headBytes.length);
        System.arraycopy(body, 0, all, headBytes.length, body.length);
        return all;
    }

    @Override
    public void close() {
        closed = true;
        for (Connection c = idle.poll(); c != null; c = idle.poll()) {
            c.closeQuietly();
        }
    }

    /**
     * The socket's input with the current call's deadline: before each read from the socket it
     * sets the socket timeout to the time left, so the deadline holds however slowly bytes come.
     */
    private final class DeadlineInput extends FilterInputStream {
        private final Socket socket;
        long deadline;

        DeadlineInput(Socket socket) throws IOException {
            super(socket.getInputStream());
            this.socket = socket;
        }

        @Override
        public int read() throws IOException {
            socket.setSoTimeout((int) remainingMillis(deadline));
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            socket.setSoTimeout((int) remainingMillis(deadline));
            return super.read(b, off, len);
        }
    }

    /** One keep-alive connection; used by one call at a time. */
    private final class Connection {
        final Socket socket;
        final OutputStream out;
        final DeadlineInput in;
        final InputStream buffered;
        long lastUsedNanos;
        boolean reused;
        boolean keepAlive;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.out = new BufferedOutputStream(socket.getOutputStream(), 8192);
            this.in = new DeadlineInput(socket);
            this.buffered = new BufferedInputStream(in, 8192);
        }

        void write(byte[] request) throws IOException {
            out.write(request);
            out.flush();
        }

        Response read(String method) throws IOException {
            String statusLine = line();
            if (!statusLine.startsWith("HTTP/1.")) {
                throw new IOException("not an HTTP/1.x answer: '" + abbreviate(statusLine) + "'");
            }
            int status;
            try {
                status = Integer.parseInt(statusLine.substring(9, 12));
            } catch (RuntimeException e) {
                throw new IOException("malformed status line: '" + abbreviate(statusLine) + "'");
            }
            keepAlive = !statusLine.startsWith("HTTP/1.0");
            long contentLength = -1;
            boolean chunked = false;
            int headerBytes = statusLine.length();
            for (String header = line(); !header.isEmpty(); header = line()) {
                headerBytes += header.length();
                if (headerBytes > MAX_HEADER_BYTES) {
                    throw new IOException("answer headers exceed " + MAX_HEADER_BYTES + " bytes");
                }
                int colon = header.indexOf(':');
                if (colon <= 0) {
                    continue;
                }
                String name = header.substring(0, colon).trim().toLowerCase(Locale.ROOT);
                String value = header.substring(colon + 1).trim();
                switch (name) {
                    case "content-length" -> contentLength = parseLength(value);
                    case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
                    case "connection" -> keepAlive &= !value.equalsIgnoreCase("close");
                    default -> {
                    }
                }
            }
            byte[] body;
            if ("HEAD".equals(method) || status == 204 || status == 304 || status / 100 == 1) {
                body = new byte[0];
            } else if (chunked) {
                body = chunked();
            } else if (contentLength >= 0) {
                body = buffered.readNBytes((int) contentLength);
                if (body.length < contentLength) {
                    throw new EOFException("answer ended after " + body.length + " of " + contentLength + " body bytes");
                }
            } else {
                keepAlive = false; // the body runs to the end of the connection
                body = readBounded(buffered);
            }
            return new Response(status, body);
        }

        private byte[] chunked() throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            while (true) {
                String sizeLine = line();
                int semicolon = sizeLine.indexOf(';');
                int size;
                try {
                    size = Integer.parseInt((semicolon >= 0 ? sizeLine.substring(0, semicolon) : sizeLine).trim(), 16);
                } catch (NumberFormatException e) {
                    throw new IOException("malformed chunk size '" + abbreviate(sizeLine) + "'");
                }
                if (size == 0) {
                    while (!line().isEmpty()) {
                        // trailers: ignored
                    }
                    return body.toByteArray();
                }
                if (size < 0) {
                    throw new IOException("malformed chunk size '" + abbreviate(sizeLine) + "'");
                }
                if ((long) body.size() + size > maxBodyBytes) {
                    throw tooLarge("more than " + maxBodyBytes);
                }
                byte[] chunk = buffered.readNBytes(size);
                if (chunk.length < size) {
                    throw new EOFException("answer ended inside a chunk");
                }
                body.write(chunk);
                line();
            }
        }

        private long parseLength(String value) throws IOException {
            try {
                long length = Long.parseLong(value);
                if (length < 0) {
                    throw new IOException("malformed Content-Length '" + abbreviate(value) + "'");
                }
                if (length > maxBodyBytes) {
                    throw tooLarge(Long.toString(length));
                }
                return length;
            } catch (NumberFormatException e) {
                throw new IOException("malformed Content-Length '" + abbreviate(value) + "'");
            }
        }

        /** One header line without its CRLF. */
        private String line() throws IOException {
            StringBuilder line = new StringBuilder(64);
            while (true) {
                int c = buffered.read();
                if (c < 0) {
                    throw new EOFException(line.length() == 0 && reused
                            ? "the server closed the kept-alive connection" : "the answer ended early");
                }
                if (c == '\n') {
                    int end = line.length();
                    return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
                }
                if (line.length() >= MAX_HEADER_BYTES) {
                    throw new IOException("answer header line exceeds " + MAX_HEADER_BYTES + " bytes");
                }
                line.append((char) c);
            }
        }

        void closeQuietly() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Nothing to do about a failing close.
            }
        }
    }

    private byte[] readBounded(InputStream in) throws IOException {
        byte[] body = in.readNBytes(maxBodyBytes + 1);
        if (body.length > maxBodyBytes) {
            throw tooLarge("more than " + maxBodyBytes);
        }
        return body;
    }

    private AnswerTooLargeException tooLarge(String size) {
        return new AnswerTooLargeException("the answer body of " + size + " bytes exceeds this client's limit of "
                + maxBodyBytes + " bytes");
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
