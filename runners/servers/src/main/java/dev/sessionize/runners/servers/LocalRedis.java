package dev.sessionize.runners.servers;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocketFactory;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

/**
 * A real {@code redis-server} started as a child process on a free loopback port, without
 * persistence. Tests fail with a clear message when it is not installed.
 */
public final class LocalRedis implements AutoCloseable {
  private final Process process;
  private final int port;
  private final Settings settings;

  private LocalRedis(Process process, int port, Settings settings) {
    this.process = process;
    this.port = port;
    this.settings = settings;
  }

  /**
   * How to start it: a password ({@code requirepass}), a data folder (append-only file, fsync on
   * every write, so the data survive a stop and start), TLS on the port (certificate, key, and the
   * client socket factory that trusts it).
   */
  public static final class Settings {
    String password;
    Path dataDir;
    Path tlsCert;
    Path tlsKey;
    SSLSocketFactory tlsClient;

    public Settings password(String value) {
      password = value;
      return this;
    }

    public Settings persistentIn(Path folder) {
      dataDir = folder;
      return this;
    }

    public Settings tls(Path cert, Path key, SSLSocketFactory client) {
      tlsCert = cert;
      tlsKey = key;
      tlsClient = client;
      return this;
    }

    JedisClientConfig clientConfig() {
      return DefaultJedisClientConfig.builder()
          .password(password)
          .ssl(tlsCert != null)
          .sslSocketFactory(tlsClient)
          .build();
    }
  }

  /** With these settings on a free port. */
  public static LocalRedis start(Settings settings) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    return start(port, settings);
  }

  /** Again on the same port with the same settings (and data, when persistent). */
  public LocalRedis restart() throws Exception {
    return start(port, settings);
  }

  public static LocalRedis start() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    return start(port);
  }

  /** On a given port: e.g. again on the port of one that was closed, to test a reconnect. */
  public static LocalRedis start(int port) throws Exception {
    return start(port, new Settings());
  }

  private static LocalRedis start(int port, Settings settings) throws Exception {
    String binary = findRedisServer();
    List<String> command = new ArrayList<>(List.of(binary, "--bind", "127.0.0.1", "--save", ""));
    if (settings.tlsCert != null) {
      command.addAll(
          List.of(
              "--port",
              "0",
              "--tls-port",
              String.valueOf(port),
              "--tls-cert-file",
              settings.tlsCert.toString(),
              "--tls-key-file",
              settings.tlsKey.toString(),
              "--tls-ca-cert-file",
              settings.tlsCert.toString(),
              "--tls-auth-clients",
              "no"));
    } else {
      command.addAll(List.of("--port", String.valueOf(port)));
    }
    if (settings.dataDir != null) {
      command.addAll(
          List.of(
              "--dir",
              settings.dataDir.toString(),
              "--appendonly",
              "yes",
              "--appendfsync",
              "always"));
    } else {
      command.addAll(List.of("--appendonly", "no"));
    }
    if (settings.password != null) {
      // On the command line of a test server only; the job reads its password from the
      // environment.
      command.addAll(List.of("--requirepass", settings.password));
    }
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      try (Jedis jedis = new Jedis(new HostAndPort("127.0.0.1", port), settings.clientConfig())) {
        if ("PONG".equals(jedis.ping())) {
          return new LocalRedis(process, port, settings);
        }
      } catch (RuntimeException e) {
        if (System.currentTimeMillis() > deadline || !process.isAlive()) {
          process.destroyForcibly();
          throw new IllegalStateException("redis-server did not start on port " + port, e);
        }
        Thread.sleep(100);
      }
    }
  }

  private static String findRedisServer() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(File.pathSeparator)) {
      File candidate = new File(dir, "redis-server");
      if (candidate.canExecute()) {
        return candidate.getPath();
      }
    }
    throw new IllegalStateException(
        "redis-server is not installed: run apt-get install -y redis-server (.ci/run does)");
  }

  public int port() {
    return port;
  }

  /** A client with the server's password and TLS settings. */
  public Jedis client() {
    return new Jedis(new HostAndPort("127.0.0.1", port), settings.clientConfig());
  }

  /** Stops the server and waits until it is gone, so its port can be used again. */
  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
