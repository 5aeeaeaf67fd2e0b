package dev.sessionize.pipeline;

import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import org.junit.rules.ExternalResource;

/**
 * A real Kafka broker (KRaft, in this JVM) and a real redis-server for one test class:
 * {@code @ClassRule public static final LocalServersRule servers = new LocalServersRule();}.
 */
public final class LocalServersRule extends ExternalResource {
  private LocalKafka kafka;
  private LocalRedis redis;

  @Override
  protected void before() throws Throwable {
    kafka = LocalKafka.start();
    redis = LocalRedis.start();
  }

  @Override
  protected void after() {
    try {
      if (redis != null) {
        redis.close();
      }
      if (kafka != null) {
        kafka.close();
      }
    } catch (Exception e) {
      throw new IllegalStateException("could not stop the test servers", e);
    }
  }

  public LocalKafka kafka() {
    return kafka;
  }

  public LocalRedis redis() {
    return redis;
  }
}
