package io.rollout.env.client;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.LongSupplier;
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
 */
final class HttpTransport implements AutoCloseable {

    private static final int MAX_HEADER_BYTES = 64 * 1024;
    private static final int MAX_BODY_BYTES = 16 * 1024 * 1024;

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
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    HttpTransport(URI base, Duration connectTimeout, Duration requestTimeout, Duration idleTimeout, LongSupplier nanoClock) {
        this.tls = "https".equals(base.getScheme());
        this.host = base.getHost();
        this.port = base.getPort() > 0 ? base.getPort() : tls ? 443 : 80;
        this.hostHeader = base.getPort() > 0 ? host + ":" + port : host;
        this.connectTimeoutMs = (int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis());
        this.requestTimeoutNanos = requestTimeout.toNanos();
        this.idleTimeoutNanos = idleTimeout.toNanos();
        this.nanoClock = nanoClock;
    }

    /**
     * Sends one request and reads the whole answer.
     *
     * @throws SocketTimeoutException when the answer does not arrive within the request timeout
     * @throws IOException            for any transport failure or a malformed answer
     */
    Response exchange(String method, String path, byte[] body) throws IOException {
        if (closed) {
            throw new IOException("client is closed");
        }
        long deadline = nanoClock.getAsLong() + requestTimeoutNanos;
        Connection connection = borrow();
        boolean reusable = false;
        try {
            connection.write(request(method, path, body));
            Response response = connection.read(method, deadline);
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

    private Connection borrow() throws IOException {
        long now = nanoClock.getAsLong();
        for (Connection c = idle.poll(); c != null; c = idle.poll()) {
            if (now - c.lastUsedNanos < idleTimeoutNanos && !c.socket.isClosed()) {
                c.reused = true;
                return c;
            }
            c.closeQuietly();
        }
        Socket socket = tls ? SSLSocketFactory.getDefault().createSocket() : new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(true);
            socket.connect(new InetSocketAddress(host, port), connectTimeoutMs);
        } catch (IOException e) {
            socket.close();
            throw e;
        }
        return new Connection(socket);
    }

    private byte[] request(String method, String path, byte[] body) {
        StringBuilder head = new StringBuilder(160)
                .append(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(hostHeader).append("\r\n")
                .append("Accept: application/json\r\n");
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

    /** One keep-alive connection; used by one call at a time. */
    private final class Connection {
        final Socket socket;
        final OutputStream out;
        final InputStream in;
        long lastUsedNanos;
        boolean reused;
        boolean keepAlive;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.out = new BufferedOutputStream(socket.getOutputStream(), 8192);
            this.in = new BufferedInputStream(socket.getInputStream(), 8192);
        }

        void write(byte[] request) throws IOException {
            out.write(request);
            out.flush();
        }

        Response read(String method, long deadline) throws IOException {
            timeout(deadline);
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
            timeout(deadline);
            byte[] body;
            if ("HEAD".equals(method) || status == 204 || status == 304 || status / 100 == 1) {
                body = new byte[0];
            } else if (chunked) {
                body = chunked();
            } else if (contentLength >= 0) {
                body = in.readNBytes((int) contentLength);
                if (body.length < contentLength) {
                    throw new EOFException("answer ended after " + body.length + " of " + contentLength + " body bytes");
                }
            } else {
                keepAlive = false; // the body runs to the end of the connection
                body = readBounded(in);
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
                if (size < 0 || body.size() + size > MAX_BODY_BYTES) {
                    throw new IOException("answer body exceeds " + MAX_BODY_BYTES + " bytes");
                }
                byte[] chunk = in.readNBytes(size);
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
                if (length < 0 || length > MAX_BODY_BYTES) {
                    throw new IOException("answer body of " + length + " bytes is out of bounds");
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
                int c = in.read();
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

        private void timeout(long deadline) throws IOException {
            long remainingMs = (deadline - nanoClock.getAsLong()) / 1_000_000;
            if (remainingMs <= 0) {
                throw new SocketTimeoutException("no complete answer within the request timeout");
            }
            socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, remainingMs));
        }

        void closeQuietly() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Nothing to do about a failing close.
            }
        }
    }

    private static byte[] readBounded(InputStream in) throws IOException {
        byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
        if (body.length > MAX_BODY_BYTES) {
            throw new IOException("answer body exceeds " + MAX_BODY_BYTES + " bytes");
        }
        return body;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
