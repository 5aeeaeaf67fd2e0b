package dev.sessionize.pipeline.redis;

import dev.sessionize.transforms.model.Session;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * Each user's latest session in Redis: {@code session:latest:<user_id>} = the JSON of the user's
 * latest session emission, a SET with a TTL, retried ({@link RedisSinks}).
 */
public final class WriteLatestSessionsToRedis extends RedisSinks.Sink<Session> {
  /**
   * To the Redis at {@code endpoint}; documents live {@code ttl}; writes still pending at the end
   * are retried while Redis is unreachable for up to {@code flushTimeout}.
   */
  public WriteLatestSessionsToRedis(
      RedisSinks.Endpoint endpoint, Duration ttl, Duration flushTimeout) {
    super(endpoint, ttl, flushTimeout);
  }

  @Override
  public PDone expand(PCollection<Session> sessions) {
    return set(
        sessions
            .apply(
                "ToUserKeys",
                MapElements.into(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                    .via((Session s) -> KV.of("session:latest:" + s.userId(), s.toJson())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())));
  }
}
