package dev.sessionize.transforms.model;

/** Why a record went to the dead-letter output. The order is the order of validation. */
public enum Reason {
  /** The record is larger than the configured maximum (64 KiB by default). */
  OVERSIZE,
  /** Not strict UTF-8, not RFC 8259 JSON, NaN/Infinity, or valid JSON that is not an object. */
  MALFORMED_JSON,
  /**
   * A required field ({@code user_id}, {@code event_type}, {@code timestamp}) is absent or null.
   */
  MISSING_FIELD,
  /** A field has the wrong type or an unacceptable value. */
  INVALID_FIELD,
  /** The event time is further ahead of processing time than the allowed skew. */
  FUTURE_TIMESTAMP,
  /** The event's own session window had already expired when it reached the session step. */
  TOO_LATE
}
