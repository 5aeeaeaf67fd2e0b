package dev.sessionize.pipeline.redis;

import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.transforms.SessionizeMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.FluentBackoff;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.params.SetParams;

/**
 * The Redis sinks. Every write is a SET with a TTL of the whole accumulated value (never INCRBY:
 * panes repeat), so a retried write or a re-fired pane writes the same thing again and the result
 * is the same.
 *
 * <p>The writes go through {@link SetWithRetryFn}, not Beam's {@code RedisIO.write()}: RedisIO
 * sends a bundle's writes in {@code finishBundle} and throws when Redis is unreachable, which fails
 * the bundle, and a failed bundle fails the whole job on the DirectRunner (and restarts it on
 * Flink). Here a write that fails stays in keyed state (the newest value per Redis key) and is
 * retried on a processing-time timer with exponential backoff, so an outage of Redis never stops
 * the sessions or the dead letters, and the dashboard catches up when Redis is back.
 */
public final class RedisSinks {
  private RedisSinks() {}

  /**
   * Where Redis is: host, port, the name of the environment variable with the password (read by the
   * process that connects, so the password is never part of the pipeline), TLS, and an optional PEM
   * file of the certificate authorities to trust (else the JVM's).
   */
  public static final class Endpoint implements Serializable {
    private static final long serialVersionUID = 2L;
    final String host;
    final int port;
    final @Nullable String passwordEnv;
    final boolean tls;
    final @Nullable String caFile;

    public Endpoint(
        String host, int port, @Nullable String passwordEnv, boolean tls, @Nullable String caFile) {
      this.host = host;
      this.port = port;
      this.passwordEnv = passwordEnv;
      this.tls = tls;
      this.caFile = caFile == null || caFile.isBlank() ? null : caFile;
    }

    /** The password from the environment of this process; null when unset or empty. */
    @Nullable String password() {
      String password =
          passwordEnv == null || passwordEnv.isEmpty() ? null : System.getenv(passwordEnv);
      return password == null || password.isEmpty() ? null : password;
    }

    /** A client configuration with AUTH (when a password is set) and TLS (when asked for). */
    public DefaultJedisClientConfig clientConfig(int timeoutMillis) {
      DefaultJedisClientConfig.Builder config =
          DefaultJedisClientConfig.builder()
              .connectionTimeoutMillis(timeoutMillis)
              .socketTimeoutMillis(timeoutMillis)
              .password(password())
              .ssl(tls || caFile != null);
      if (tls || caFile != null) {
        // Check the server's name against its certificate, as HTTPS does.
        SSLParameters parameters = new SSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        config.sslParameters(parameters);
        if (caFile != null) {
          config.sslSocketFactory(trusting(caFile));
        }
      }
      return config.build();
    }

    public HostAndPort hostAndPort() {
      return new HostAndPort(host, port);
    }

    /** For messages: where, never the password. */
    @Override
    public String toString() {
      return (tls || caFile != null ? "rediss://" : "redis://") + host + ":" + port;
    }
  }

  /** A TLS socket factory trusting the certificates of a PEM file. */
  public static SSLSocketFactory trusting(String pemFile) {
    try (InputStream in = Files.newInputStream(Paths.get(pemFile))) {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      int i = 0;
      for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca-" + i++, cert);
      }
      if (i == 0) {
        throw new IllegalArgumentException("no certificate in " + pemFile);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return context.getSocketFactory();
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot read the certificates of " + pemFile + ": " + e.getClass().getSimpleName(), e);
    }
  }

  /**
   * A sink of documents keyed for Redis: subclasses turn elements into (key, JSON) pairs and hand
   * them to {@link #set}, which writes each with the TTL, retried up to the flush timeout.
   */
  abstract static class Sink<T> extends PTransform<PCollection<T>, PDone> {
    private final PTransform<PCollection<KV<String, String>>, PDone> setWithTtl;

    Sink(Endpoint endpoint, Duration ttl, Duration flushTimeout) {
      this.setWithTtl = setWithTtl(endpoint, ttl, flushTimeout);
    }

    /** SET of each (key, document) with the TTL, in the step {@code SetWithTtl}. */
    PDone set(PCollection<KV<String, String>> writes) {
      return writes.apply("SetWithTtl", setWithTtl);
    }
  }

  private static PTransform<PCollection<KV<String, String>>, PDone> setWithTtl(
      Endpoint endpoint, Duration ttl, Duration flushTimeout) {
    return new PTransform<PCollection<KV<String, String>>, PDone>() {
      @Override
      public PDone expand(PCollection<KV<String, String>> writes) {
        writes
            .apply("InGlobalWindow", Window.into(new GlobalWindows()))
            .apply(
                "SetWithRetry",
                ParDo.of(new SetWithRetryFn(endpoint, ttl.getMillis(), flushTimeout.getMillis())));
        return PDone.in(writes.getPipeline());
      }
    };
  }

  /**
   * SET key value PX ttl, keyed by the Redis key. A write that fails is kept in state (only the
   * newest value of a key: every value is a whole document) and retried by a processing-time timer;
   * after a failure, writes of every key of this instance wait for the backoff (100 ms doubling up
   * to 5 s, Beam's {@link FluentBackoff}) instead of each trying a dead server.
   *
   * <p>When the window ends (the global window: at the end of a bounded input, or when a streaming
   * job is drained) the runner drops the state, timers included, so a write still pending then is
   * written in {@link #onWindowExpiration}, retried with the same backoff for up to the flush
   * timeout (one deadline per DoFn instance, so many pending keys wait once, not each). A write
   * Redis has not taken by then fails the bundle with one line naming the server and {@code
   * --redisFlushTimeout}: the job fails (on Flink the drain fails and the job restarts from its
   * last checkpoint, which still holds the writes) rather than finishing without them.
   *
   * <p>Counters: {@code redis_writes} (written), {@code redis_write_failures} (attempts that
   * failed), {@code redis_write_retries} (attempts of a write that had failed before), {@code
   * redis_writes_given_up} (pending writes still unwritten at the flush timeout).
   */
  static class SetWithRetryFn extends DoFn<KV<String, String>, Void> {
    private static final Logger LOG = LoggerFactory.getLogger(SetWithRetryFn.class);
    private static final FluentBackoff BACKOFF =
        FluentBackoff.DEFAULT
            .withInitialBackoff(org.joda.time.Duration.millis(100))
            .withMaxBackoff(org.joda.time.Duration.standardSeconds(5));
    private static final int TIMEOUT_MILLIS = 2_000;

    private final Endpoint endpoint;
    private final long ttlMillis;
    private final long flushTimeoutMillis;
    private final Counter writes = SessionizeMetrics.counter("redis_writes");
    private final Counter failures = SessionizeMetrics.counter("redis_write_failures");
    private final Counter retries = SessionizeMetrics.counter("redis_write_retries");
    private final Counter givenUp = SessionizeMetrics.counter("redis_writes_given_up");
    private transient JedisPooled jedis;
    private transient BackOff backoff;
    private transient long retryAt;
    private transient boolean down;

    /** When the flush at window expiration stops retrying; 0 while Redis answers. */
    private transient long flushDeadline;

    private transient int givenUpInBundle;
    private transient @Nullable String firstGivenUp;

    @StateId("pending")
    private final StateSpec<ValueState<KV<String, String>>> pendingSpec =
        StateSpecs.value(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));

    @TimerId("retry")
    private final TimerSpec retrySpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

    SetWithRetryFn(Endpoint endpoint, long ttlMillis, long flushTimeoutMillis) {
      this.endpoint = endpoint;
      this.ttlMillis = ttlMillis;
      this.flushTimeoutMillis = flushTimeoutMillis;
    }

    @Setup
    public void setup() {
      jedis = new JedisPooled(endpoint.hostAndPort(), endpoint.clientConfig(TIMEOUT_MILLIS));
      backoff = BACKOFF.backoff();
    }

    @Teardown
    public void teardown() {
      if (jedis != null) {
        jedis.close();
      }
    }

    @StartBundle
    public void startBundle() {
      givenUpInBundle = 0;
      firstGivenUp = null;
    }

    @ProcessElement
    public void process(
        @Element KV<String, String> write,
        @StateId("pending") ValueState<KV<String, String>> pending,
        @TimerId("retry") Timer retry) {
      attempt(write, false, pending, retry);
    }

    @OnTimer("retry")
    public void onRetry(
        @StateId("pending") ValueState<KV<String, String>> pending, @TimerId("retry") Timer retry) {
      KV<String, String> write = pending.read();
      if (write != null) {
        attempt(write, true, pending, retry);
      }
    }

    /**
     * The window ends and its state with it: a write still pending is written now, retried with
     * backoff until the flush deadline; one Redis has not taken by then is counted and fails the
     * bundle in {@link #finishBundle}.
     */
    @OnWindowExpiration
    public void onWindowExpiration(@StateId("pending") ValueState<KV<String, String>> pending) {
      KV<String, String> write = pending.read();
      if (write == null) {
        return;
      }
      if (!flush(write)) {
        givenUp.inc();
        if (givenUpInBundle++ == 0) {
          firstGivenUp = write.getKey();
        }
      }
      pending.clear();
    }

    @FinishBundle
    public void finishBundle() {
      if (givenUpInBundle > 0) {
        int n = givenUpInBundle;
        String first = firstGivenUp;
        givenUpInBundle = 0;
        firstGivenUp = null;
        throw new PendingWritesLostException(
            String.format(
                Locale.ROOT,
                "Redis at %s did not take %d pending write%s (%s%s) within"
                    + " --redisFlushTimeout=%s after the window ended (end of the input or a"
                    + " drain): failing instead of finishing without them",
                endpoint,
                n,
                n == 1 ? "" : "s",
                first,
                n == 1 ? "" : ", ...",
                DurationOption.format(org.joda.time.Duration.millis(flushTimeoutMillis))));
      }
    }

    /** Writes now, retrying with backoff until the flush deadline; false if Redis never took it. */
    private boolean flush(KV<String, String> write) {
      BackOff flushBackoff = BACKOFF.backoff();
      boolean retrying = false;
      while (true) {
        if (retrying) {
          retries.inc();
        }
        if (set(write)) {
          flushDeadline = 0;
          return true;
        }
        long now = System.currentTimeMillis();
        if (flushDeadline == 0) {
          flushDeadline = now + flushTimeoutMillis;
          LOG.warn(
              "Redis at {} is unreachable while writes are pending at the end of their window:"
                  + " retrying them for up to {} (--redisFlushTimeout)",
              endpoint,
              DurationOption.format(org.joda.time.Duration.millis(flushTimeoutMillis)));
        }
        long left = flushDeadline - now;
        if (left <= 0) {
          return false;
        }
        try {
          Thread.sleep(Math.min(nextBackOff(flushBackoff), left));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
        retrying = true;
      }
    }

    private void attempt(
        KV<String, String> write,
        boolean isRetry,
        ValueState<KV<String, String>> pending,
        Timer retry) {
      long now = System.currentTimeMillis();
      if (now < retryAt) {
        pending.write(write);
        retry.offset(org.joda.time.Duration.millis(retryAt - now)).setRelative();
        return;
      }
      if (isRetry) {
        retries.inc();
      }
      if (set(write)) {
        pending.clear();
        retryAt = 0;
      } else {
        long wait = nextBackOff(backoff);
        retryAt = now + wait;
        pending.write(write);
        retry.offset(org.joda.time.Duration.millis(wait)).setRelative();
      }
    }

    /** One SET; true when Redis took it. Logs once when Redis fails and once when it is back. */
    private boolean set(KV<String, String> write) {
      try {
        jedis.set(write.getKey(), write.getValue(), SetParams.setParams().px(ttlMillis));
        writes.inc();
        if (down) {
          down = false;
          LOG.info("Redis at {} answers again: catching up on the dashboard writes", endpoint);
          backoff = BACKOFF.backoff();
        }
        return true;
      } catch (JedisException e) {
        failures.inc();
        if (!down) {
          down = true;
          // Jedis' messages name the server and the error, never the password.
          LOG.warn(
              "Redis at {} failed ({}: {}): dashboard writes are kept and retried with backoff",
              endpoint,
              e.getClass().getSimpleName(),
              e.getMessage());
        }
        return false;
      }
    }

    private static long nextBackOff(BackOff backoff) {
      long wait;
      try {
        wait = backoff.nextBackOffMillis();
      } catch (IOException impossible) {
        wait = BackOff.STOP;
      }
      return wait == BackOff.STOP ? 5_000 : wait;
    }
  }

  /** Pending Redis writes that could not be written before their window ended. */
  public static final class PendingWritesLostException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    PendingWritesLostException(String message) {
      super(message);
    }

    /**
     * The message of such an exception among the causes of {@code e} (also when a runner carried it
     * over as text, as in Beam's {@code UserCodeException}), or null.
     */
    public static @Nullable String find(Throwable e) {
      String marker = PendingWritesLostException.class.getName() + ": ";
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof PendingWritesLostException) {
          return t.getMessage();
        }
        String message = t.getMessage();
        int at = message == null ? -1 : message.indexOf(marker);
        if (at >= 0) {
          String rest = message.substring(at + marker.length());
          int newline = rest.indexOf('\n');
          return newline < 0 ? rest : rest.substring(0, newline);
        }
      }
      return null;
    }
  }
}
