package dev.sessionize.pipeline.redis;

import dev.sessionize.transforms.model.Session;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Each user's latest session in Redis: {@code session:latest:<user_id>} = the JSON of the user's
 * latest session emission, a SET with a TTL, retried ({@link RedisSinks}).
 */
public final class WriteLatestSessionsToRedis extends PTransform<PCollection<Session>, PDone> {
  private final RedisSinks.Endpoint endpoint;
  private final Duration ttl;
  private final Duration flushTimeout;

  private WriteLatestSessionsToRedis(
      RedisSinks.Endpoint endpoint, Duration ttl, Duration flushTimeout) {
    this.endpoint = endpoint;
    this.ttl = ttl;
    this.flushTimeout = flushTimeout;
  }

  /** To the Redis at {@code endpoint}: documents live 24 h, pending writes are retried 5 min. */
  public static WriteLatestSessionsToRedis to(RedisSinks.Endpoint endpoint) {
    return new WriteLatestSessionsToRedis(
        endpoint, Duration.standardHours(24), Duration.standardMinutes(5));
  }

  /** Time to live of the session documents. */
  public WriteLatestSessionsToRedis withTtl(Duration ttl) {
    return new WriteLatestSessionsToRedis(endpoint, ttl, flushTimeout);
  }

  /** How long writes pending at the end are retried while Redis is unreachable. */
  public WriteLatestSessionsToRedis withFlushTimeout(Duration flushTimeout) {
    return new WriteLatestSessionsToRedis(endpoint, ttl, flushTimeout);
  }

  @Override
  public PDone expand(PCollection<Session> sessions) {
    return sessions
        .apply(
            "ToUserKeys",
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                .via((Session s) -> KV.of("session:latest:" + s.userId(), s.toJson())))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
        .apply("SetWithTtl", RedisSinks.setWithTtl(endpoint, ttl, flushTimeout));
  }
}
