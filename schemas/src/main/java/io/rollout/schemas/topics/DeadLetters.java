package io.rollout.schemas.topics;

import io.rollout.schemas.serde.UndecodableRecordException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * The headers every service puts on a record it sends to {@code rollout.dlq}: where the
 * original came from and why it could not be processed. The record keeps its original key
 * and value bytes and its original headers, so it can be inspected and replayed.
 */
public final class DeadLetters {

    /** Topic the record was read from. */
    public static final String SOURCE_TOPIC = "rollout.dlq.source.topic";
    /** Its partition, as decimal text. */
    public static final String SOURCE_PARTITION = "rollout.dlq.source.partition";
    /** Its offset, as decimal text. */
    public static final String SOURCE_OFFSET = "rollout.dlq.source.offset";
    /** A short machine-readable reason, e.g. {@code UNKNOWN_SCHEMA} or {@code INVALID}. */
    public static final String REASON = "rollout.dlq.reason";
    /** The error message. */
    public static final String ERROR = "rollout.dlq.error";
    /** The service (application id) that dead-lettered it. */
    public static final String SERVICE = "rollout.dlq.service";
    /** Reason of a record that decodes but breaks a rule of its topic. */
    public static final String INVALID = "INVALID";
    /** Reason of a record without a value. */
    public static final String EMPTY = "EMPTY";

    private DeadLetters() {
    }

    /** The original headers plus the dead-letter headers. */
    public static Headers headers(Headers original, String topic, int partition, long offset, String reason,
            String error, String service) {
        RecordHeaders headers = new RecordHeaders();
        if (original != null) {
            for (Header h : original) {
                headers.add(h);
            }
        }
        headers.add(SOURCE_TOPIC, utf8(topic));
        headers.add(SOURCE_PARTITION, utf8(Integer.toString(partition)));
        headers.add(SOURCE_OFFSET, utf8(Long.toString(offset)));
        headers.add(REASON, utf8(reason));
        headers.add(ERROR, utf8(error == null ? "" : error));
        headers.add(SERVICE, utf8(service));
        return headers;
    }

    /**
     * The reason of a record that could not be decoded: the decoder's own
     * ({@link UndecodableRecordException.Reason}), or {@code CORRUPT} for any other failure.
     */
    public static String undecodable(RuntimeException failure) {
        return failure instanceof UndecodableRecordException u ? u.reason().name()
                : UndecodableRecordException.Reason.CORRUPT.name();
    }

    /** The text of the last header named {@code name}, or null. */
    public static String text(Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
