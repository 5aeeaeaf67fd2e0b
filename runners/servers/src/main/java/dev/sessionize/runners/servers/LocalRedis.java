package dev.sessionize.runners.servers;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;

/**
 * A real {@code redis-server} started as a child process on a free loopback port, without
 * persistence. Tests fail with a clear message when it is not installed.
 */
public final class LocalRedis implements AutoCloseable {
  private final Process process;
  private final int port;

  private LocalRedis(Process process, int port) {
    this.process = process;
    this.port = port;
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
    String binary = findRedisServer();
    Process process =
        new ProcessBuilder(
                List.of(
                    binary,
                    "--port",
                    String.valueOf(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no"))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      try (Jedis jedis = new Jedis("127.0.0.1", port)) {
        if ("PONG".equals(jedis.ping())) {
          return new LocalRedis(process, port);
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

  public Jedis client() {
    return new Jedis("127.0.0.1", port);
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
