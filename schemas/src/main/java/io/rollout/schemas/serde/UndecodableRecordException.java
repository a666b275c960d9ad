package io.rollout.schemas.serde;

import org.apache.kafka.common.errors.SerializationException;

/**
 * Thrown by every serde of this project when a payload cannot be decoded: it names the
 * topic and says why, so the caller can dead-letter the record and go on.
 */
public final class UndecodableRecordException extends SerializationException {

    /** Why a payload could not be decoded. */
    public enum Reason {
        /** The bytes do not start with the Avro single-object marker (C3 01). */
        NOT_SINGLE_OBJECT,
        /** The schema fingerprint is in no released version of any record of this project. */
        UNKNOWN_SCHEMA,
        /** The payload is a valid record of another type than the topic carries. */
        WRONG_RECORD_TYPE,
        /** The header is fine but the body is truncated or malformed. */
        CORRUPT
    }

    private final String topic;
    private final Reason reason;

    public UndecodableRecordException(String topic, Reason reason, String detail, Throwable cause) {
        super("cannot decode record from topic '" + topic + "': " + reason + ": " + detail, cause);
        this.topic = topic;
        this.reason = reason;
    }

    public String topic() {
        return topic;
    }

    public Reason reason() {
        return reason;
    }
}
