package dev.sessionize.dashboard;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.Json;
import java.util.List;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Reads the dashboard from Redis, and only from Redis: {@code GET dash:latest} (the key of the
 * newest minute), then one {@code MGET} of the 60 minute keys ending there. Never throws: when
 * Redis cannot be reached the answer says so ({@code status}), and the next read tries again.
 */
final class RedisDashboard implements AutoCloseable {
  static final String LATEST_KEY = "dash:latest";

  private final String where;
  private final JedisPooled jedis;

  RedisDashboard(DashboardOptions options) {
    this.where = options.redisHost() + ":" + options.redisPort();
    String password = System.getenv(options.redisPasswordEnv());
    DefaultJedisClientConfig.Builder config =
        DefaultJedisClientConfig.builder()
            .connectionTimeoutMillis(1_000)
            .socketTimeoutMillis(2_000)
            .clientName("sessionize-dashboard")
            .ssl(options.redisTls());
    if (password != null && !password.isEmpty()) {
      config.password(password);
    }
    GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
    pool.setMaxTotal(4);
    pool.setMaxWaitMillis(3_000);
    this.jedis =
        new JedisPooled(
            pool, new HostAndPort(options.redisHost(), options.redisPort()), config.build());
  }

  /** {@code host:port} of Redis, for messages. */
  String where() {
    return where;
  }

  /**
   * The page's data: {@code status} is {@code ok} (with the data of {@link DashboardSnapshot}),
   * {@code no_data} (Redis answers, no dashboard in it), {@code redis_unreachable} or {@code
   * redis_error}, with a {@code message} for the last three.
   */
  ObjectNode read() {
    Instant now = Instant.now();
    ObjectNode out;
    try {
      String latestKey = jedis.get(LATEST_KEY);
      Instant latest = DashboardMinute.windowStartOfKey(latestKey);
      if (latestKey == null) {
        out = status("no_data", "no dashboard in Redis yet: " + LATEST_KEY + " is not set");
      } else if (latest == null) {
        out =
            status(
                "no_data",
                LATEST_KEY + " holds \"" + latestKey + "\", which is not a dash:minute:* key");
      } else {
        List<String> keys = DashboardSnapshot.keysEndingAt(latest);
        List<@Nullable String> documents = jedis.mget(keys.toArray(new String[0]));
        out = DashboardSnapshot.of(latest, documents, now);
        out.put("status", "ok");
      }
    } catch (JedisConnectionException e) {
      out = status("redis_unreachable", describe(e));
    } catch (JedisException e) {
      out = status("redis_error", describe(e));
    }
    out.put("redis", where);
    out.put("server_time", Json.formatInstant(now));
    return out;
  }

  private static ObjectNode status(String status, String message) {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("status", status);
    out.put("message", message);
    return out;
  }

  /** The exception's message and its causes', one line. */
  private static String describe(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null && b.length() < 300; t = t.getCause()) {
      String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
      if (b.indexOf(m) < 0) {
        b.append(b.length() == 0 ? "" : ": ").append(m);
      }
    }
    return b.toString().replaceAll("\\s+", " ");
  }

  @Override
  public void close() {
    jedis.close();
  }
}
