package dev.sessionize.pipeline;

import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.Session;
import java.io.Serializable;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.io.redis.RedisConnectionConfiguration;
import org.apache.beam.sdk.io.redis.RedisIO;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PDone;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;

/**
 * The Redis sinks, on Beam's RedisIO. Every write is a SET with a TTL of the whole accumulated
 * value (never INCRBY: panes repeat), so a retried bundle or a re-fired pane writes the same thing
 * again and the result is the same.
 */
public final class RedisSinks {
  private RedisSinks() {}

  /** Where Redis is: host, port, password (from the environment, never the command line), TLS. */
  public static final class Endpoint implements Serializable {
    private static final long serialVersionUID = 1L;
    final String host;
    final int port;
    final @Nullable String password;
    final boolean tls;

    public Endpoint(String host, int port, @Nullable String password, boolean tls) {
      this.host = host;
      this.port = port;
      this.password = password;
      this.tls = tls;
    }

    RedisConnectionConfiguration configuration() {
      RedisConnectionConfiguration c = RedisConnectionConfiguration.create(host, port);
      if (password != null && !password.isEmpty()) {
        c = c.withAuth(password);
      }
      return tls ? c.enableSSL() : c;
    }
  }

  private static RedisIO.Write setWithTtl(Endpoint endpoint, Duration ttl) {
    return RedisIO.write()
        .withConnectionConfiguration(endpoint.configuration())
        .withMethod(RedisIO.Write.Method.SET)
        .withExpireTime(ttl.getMillis());
  }

  /**
   * The dashboard: {@code dash:minute:<yyyy-MM-ddTHH:mmZ>} = the minute's document at each firing,
   * and {@code dash:latest} = the key of the newest minute seen (a late re-firing of an older
   * minute never moves it back).
   */
  public static PTransform<PCollection<DashboardMinute>, PDone> dashboard(
      Endpoint endpoint, Duration ttl) {
    return new PTransform<PCollection<DashboardMinute>, PDone>() {
      @Override
      public PDone expand(PCollection<DashboardMinute> docs) {
        PCollection<KV<String, String>> minutes =
            docs.apply(
                    "ToMinuteKeys",
                    MapElements.into(
                            TypeDescriptors.kvs(
                                TypeDescriptors.strings(), TypeDescriptors.strings()))
                        .via((DashboardMinute d) -> KV.of(d.redisKey(), d.toJson())))
                .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
        PCollection<KV<String, String>> latest =
            docs.apply("InGlobalWindow", Window.into(new GlobalWindows()))
                .apply(
                    "KeyLatest",
                    MapElements.into(
                            TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.longs()))
                        .via(
                            (DashboardMinute d) ->
                                KV.of("dash:latest", d.windowStart().getMillis())))
                .setCoder(KvCoder.of(StringUtf8Coder.of(), VarLongCoder.of()))
                .apply("KeepNewestMinute", ParDo.of(new NewestMinuteFn()))
                .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
        return PCollectionList.of(
                minutes.apply("MinutesInGlobalWindow", Window.into(new GlobalWindows())))
            .and(latest)
            .apply("AllKeys", Flatten.pCollections())
            .apply("SetWithTtl", setWithTtl(endpoint, ttl));
      }
    };
  }

  /** {@code session:latest:<user_id>} = the JSON of the user's latest session emission. */
  public static PTransform<PCollection<Session>, PDone> latestSessions(
      Endpoint endpoint, Duration ttl) {
    return new PTransform<PCollection<Session>, PDone>() {
      @Override
      public PDone expand(PCollection<Session> sessions) {
        return sessions
            .apply(
                "ToUserKeys",
                MapElements.into(
                        TypeDescriptors.kvs(TypeDescriptors.strings(), TypeDescriptors.strings()))
                    .via((Session s) -> KV.of("session:latest:" + s.userId(), s.toJson())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()))
            .apply("SetWithTtl", setWithTtl(endpoint, ttl));
      }
    };
  }

  /** Emits {@code dash:latest -> dash:minute:<minute>} only when a newer minute shows up. */
  static class NewestMinuteFn extends DoFn<KV<String, Long>, KV<String, String>> {
    @StateId("newest")
    private final StateSpec<ValueState<Long>> newestSpec = StateSpecs.value(VarLongCoder.of());

    @ProcessElement
    public void process(
        @Element KV<String, Long> element,
        @StateId("newest") ValueState<Long> newest,
        OutputReceiver<KV<String, String>> out) {
      Long current = newest.read();
      long start = element.getValue();
      if (current == null || start >= current) {
        newest.write(start);
        out.output(
            KV.of(element.getKey(), DashboardMinute.keyFor(new org.joda.time.Instant(start))));
      }
    }
  }
}
