package dev.sessionize.pipeline;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessionize.pipeline.iceberg.SessionsTable;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.pipeline.redis.RedisSinks;
import dev.sessionize.runners.servers.LocalKafka;
import dev.sessionize.runners.servers.LocalRedis;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.iceberg.Table;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import redis.clients.jedis.Jedis;

/**
 * Security and launch checks against real servers: a Kafka broker whose client listener wants
 * SASL/SCRAM-SHA-512, and a redis-server with {@code requirepass} (and one with TLS). The job's
 * secrets come from a properties file and the environment ({@code SESSIONIZE_IT_REDIS_PASSWORD},
 * set by failsafe in this module's pom), and must appear nowhere: not in the logs, the metrics, the
 * dead letters, the options or the launch errors.
 */
@RunWith(JUnit4.class)
public class SecurityIT {
  private static final String REDIS_PASSWORD_ENV = "SESSIONIZE_IT_REDIS_PASSWORD";
  private static final String USER = "sessionize-job";
  private static final String KAFKA_PASSWORD = "scram-" + UUID.randomUUID();

  private static LocalKafka kafka;
  private static LocalRedis redis;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @BeforeClass
  public static void startServers() throws Exception {
    assertNotNull(
        REDIS_PASSWORD_ENV + " must be set (failsafe sets it; see pipeline/pom.xml)",
        System.getenv(REDIS_PASSWORD_ENV));
    kafka = LocalKafka.startWithScram();
    kafka.addScramUser(USER, KAFKA_PASSWORD);
    redis = LocalRedis.start(new LocalRedis.Settings().password(redisPassword()));
  }

  @AfterClass
  public static void stopServers() throws Exception {
    if (redis != null) {
      redis.close();
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  private static String redisPassword() {
    return System.getenv(REDIS_PASSWORD_ENV);
  }

  private File kafkaProperties(String password) throws Exception {
    File file = tmp.newFile();
    Files.writeString(
        file.toPath(),
        "security.protocol=SASL_PLAINTEXT\n"
            + "sasl.mechanism=SCRAM-SHA-512\n"
            + "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required"
            + " username=\""
            + USER
            + "\" password=\""
            + password
            + "\";\n");
    return file;
  }

  private SessionizationPipeline.Options options(String... args) throws Exception {
    List<String> all = new ArrayList<>();
    all.add("--input=" + FixturesTest.testdata().resolve("events/happy-path.jsonl"));
    all.add("--output=" + tmp.newFolder());
    all.add("--preflightTimeout=5s");
    all.addAll(List.of(args));
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    return PipelineOptionsFactory.fromArgs(all.toArray(String[]::new))
        .as(SessionizationPipeline.Options.class);
  }

  /** The one line that stops the launch; fails when the launch goes through. */
  private List<String> launchProblems(SessionizationPipeline.Options options) throws Exception {
    try {
      PipelineResult result = SessionizationPipeline.run(options);
      result.cancel();
      fail("the launch should have been stopped");
      return null;
    } catch (InvalidOptionsException e) {
      assertThat(e.getMessage(), not(containsString(KAFKA_PASSWORD)));
      assertThat(e.getMessage(), not(containsString(redisPassword())));
      return e.problems();
    }
  }

  private static int closedPort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Test
  public void unreachableBrokerStopsTheLaunchNamingBootstrapServers() throws Exception {
    String nobody = "127.0.0.1:" + closedPort();
    long start = System.nanoTime();
    List<String> problems =
        launchProblems(options("--source=kafka", "--bootstrapServers=" + nobody));
    assertThat(problems, hasSize(1));
    assertThat(problems.get(0), startsWith("--bootstrapServers=" + nobody + " is unreachable"));
    assertThat(problems.get(0), containsString("--preflight=false"));
    assertThat(
        "the check gives up after --preflightTimeout",
        TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start),
        org.hamcrest.Matchers.lessThan(30L));
  }

  @Test
  public void wrongKafkaPasswordStopsTheLaunchNamingThePropertiesFile() throws Exception {
    String wrong = "wrong-" + UUID.randomUUID();
    File file = kafkaProperties(wrong);
    List<String> problems =
        launchProblems(
            options(
                "--source=kafka",
                "--bootstrapServers=" + kafka.saslBootstrapServers(),
                "--kafkaPropertiesFile=" + file));
    assertThat(problems, hasSize(1));
    assertThat(problems.get(0), containsString("rejected the credentials"));
    assertThat(problems.get(0), containsString("--kafkaPropertiesFile=" + file));
    assertThat(problems.get(0), not(containsString(wrong)));
  }

  @Test
  public void redisAuthFailuresStopTheLaunchNamingThePasswordOption() throws Exception {
    // No password at all (the variable is not set): NOAUTH.
    List<String> none =
        launchProblems(
            options(
                "--dashboardSink=redis",
                "--redisPort=" + redis.port(),
                "--redisPasswordEnv=SESSIONIZE_IT_NO_SUCH_VARIABLE"));
    assertThat(none, hasSize(1));
    assertThat(
        none.get(0),
        startsWith("--redisPasswordEnv=SESSIONIZE_IT_NO_SUCH_VARIABLE: Redis requires a password"));
    // A wrong password (another variable that is set).
    List<String> wrong =
        launchProblems(
            options(
                "--dashboardSink=redis",
                "--redisPort=" + redis.port(),
                "--redisPasswordEnv=SESSIONIZE_IT_WRONG_PASSWORD"));
    assertThat(wrong, hasSize(1));
    assertThat(
        wrong.get(0),
        startsWith("--redisPasswordEnv=SESSIONIZE_IT_WRONG_PASSWORD: Redis rejected the password"));
    assertThat(wrong.get(0), not(containsString(System.getenv("SESSIONIZE_IT_WRONG_PASSWORD"))));
    // Nobody on the port.
    int closed = closedPort();
    List<String> unreachable =
        launchProblems(options("--dashboardSink=redis", "--redisPort=" + closed));
    assertThat(unreachable, hasSize(1));
    assertThat(
        unreachable.get(0),
        startsWith("--redisHost=localhost --redisPort=" + closed + " is unreachable"));
  }

  @Test
  public void secretsOnTheCommandLineAreRejectedWithoutRepeatingThem() throws Exception {
    List<String> problems =
        SessionizationPipeline.validate(
            options(
                "--redisPasswordEnv=hunter2!",
                "--catalogProperties=uri=jdbc:sqlite:x.db,jdbc.password=hunter2"));
    assertThat(problems, hasSize(2));
    for (String problem : problems) {
      assertThat(problem, not(containsString("hunter2")));
    }
    assertThat(problems.get(0), startsWith("--redisPasswordEnv is not an environment variable"));
    assertThat(problems.get(1), startsWith("--catalogProperties: jdbc.password is a secret"));
    // The same from a variable is fine.
    assertEquals(
        List.of(),
        SessionizationPipeline.validate(
            options("--catalogProperties=uri=jdbc:sqlite:x.db,jdbc.password=${env:HOME}")));
  }

  /**
   * The streaming job reads over SASL/SCRAM, writes dead letters over SASL/SCRAM and the dashboard
   * to a Redis with AUTH; the results are complete, and neither password is in anything the job
   * printed, counted, wrote as a dead letter or kept in its options.
   */
  @Test
  public void jobOverSaslAndRedisAuthLeaksNoSecret() throws Exception {
    RestartScenario s = new RestartScenario(7201L, 600, 20, 2);
    kafka.createTopic("secure-in", 2);
    kafka.createTopic("secure-dlq", 1);
    kafka.produce("secure-in", 2, s.firstHalf);
    kafka.produce("secure-in", 2, s.secondHalf);
    File warehouse = tmp.newFolder("warehouse");
    File properties = kafkaProperties(KAFKA_PASSWORD);
    SessionizationPipeline.Options options =
        options(
            "--runner=DirectRunner",
            "--blockOnRun=false",
            "--source=kafka",
            "--bootstrapServers=" + kafka.saslBootstrapServers(),
            "--kafkaPropertiesFile=" + properties,
            "--inputTopic=secure-in",
            "--deadLetterTopic=secure-dlq",
            "--idleTimeout=1h",
            "--commitInterval=1s",
            "--sessionsSink=iceberg",
            "--warehouse=" + warehouse,
            "--dashboardSink=redis",
            "--redisPort=" + redis.port(),
            "--redisPasswordEnv=" + REDIS_PASSWORD_ENV);
    options.as(StreamingOptions.class).setStreaming(true);

    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream out = System.out;
    PrintStream err = System.err;
    System.setOut(new PrintStream(new Tee(out, captured), true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(new Tee(err, captured), true, StandardCharsets.UTF_8));
    PipelineResult result = null;
    List<ConsumerRecord<String, String>> deadLetters;
    try {
      result = SessionizationPipeline.run(options);
      PipelineResult job = result;
      Table table = SessionsTable.openOrCreate(warehouse.getPath(), "sessionize.sessions");
      RestartScenario.await(
          "every session over SASL",
          () -> RestartScenario.sessions(table).size() >= s.expectedSessions.size(),
          () -> job.getState().isTerminal() ? job.getState().toString() : null);
      s.assertTable(table);
      try (Jedis jedis = redis.client()) {
        RestartScenario.await(
            "the dashboard in the Redis with AUTH",
            () -> RestartScenario.dashboard(jedis).equals(s.eventsPerMinute),
            () -> job.getState().isTerminal() ? job.getState().toString() : null);
      }
      s.assertDeadLettersOnce(kafka, "secure-dlq");
      deadLetters = kafka.readAll("secure-dlq", s.rejected, 30_000);
    } finally {
      if (result != null) {
        result.cancel();
      }
      System.setOut(out);
      System.setErr(err);
    }

    String logs = captured.toString(StandardCharsets.UTF_8);
    // The capture works and saw the Kafka clients' configuration, with the JAAS config masked.
    assertThat(logs, containsString("sasl.jaas.config = [hidden]"));
    List<String> secrets = List.of(KAFKA_PASSWORD, redisPassword());
    for (String secret : secrets) {
      assertTrue("a secret is in the logs", !logs.contains(secret));
      for (ConsumerRecord<String, String> d : deadLetters) {
        assertTrue("a secret is in a dead letter", !d.value().contains(secret));
      }
      String optionsJson = new ObjectMapper().writeValueAsString(options);
      assertTrue("a secret is in the pipeline options", !optionsJson.contains(secret));
      MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder().build());
      for (MetricResult<Long> c : metrics.getCounters()) {
        assertTrue("a secret is in a metric name", !c.getName().toString().contains(secret));
        assertTrue("a secret is in a step name", !c.getKey().stepName().contains(secret));
      }
    }
    assertEquals(s.rejected, deadLetters.size());
  }

  /** Redis over TLS with AUTH: a certificate authority and a server certificate made here. */
  @Test
  public void redisOverTlsWithAuth() throws Exception {
    Path dir = tmp.newFolder("tls").toPath();
    openssl(
        dir,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=sessionize-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem");
    openssl(
        dir,
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr");
    Files.writeString(dir.resolve("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    openssl(
        dir,
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem");
    String ca = dir.resolve("ca.pem").toString();
    try (LocalRedis tls =
        LocalRedis.start(
            new LocalRedis.Settings()
                .password(redisPassword())
                .tls(
                    dir.resolve("server.pem"),
                    dir.resolve("server.key"),
                    RedisSinks.trusting(ca)))) {
      // Without the CA the handshake fails at launch, naming the TLS options.
      List<String> untrusted =
          launchProblems(
              options(
                  "--dashboardSink=redis",
                  "--redisPort=" + tls.port(),
                  "--redisTls=true",
                  "--redisPasswordEnv=" + REDIS_PASSWORD_ENV));
      assertThat(untrusted, hasSize(1));
      assertThat(untrusted.get(0), containsString("TLS handshake with Redis failed"));
      // With it, the job (bounded, the happy-path fixture) writes its 11 minutes.
      SessionizationPipeline.run(
              options(
                  "--dashboardSink=redis",
                  "--redisPort=" + tls.port(),
                  "--redisCaFile=" + ca,
                  "--redisPasswordEnv=" + REDIS_PASSWORD_ENV))
          .waitUntilFinish();
      try (Jedis jedis = tls.client()) {
        assertThat(jedis.keys("dash:minute:*"), hasSize(11));
        assertEquals("dash:minute:2026-11-24T11:20Z", jedis.get("dash:latest"));
      }
    }
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    Process p =
        new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("openssl " + String.join(" ", args) + ": " + output);
    }
  }

  /** Writes to two streams. */
  private static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) throws java.io.IOException {
      a.write(c);
      synchronized (b) {
        b.write(c);
      }
    }

    @Override
    public void write(byte[] buf, int off, int len) throws java.io.IOException {
      a.write(buf, off, len);
      synchronized (b) {
        b.write(buf, off, len);
      }
    }

    @Override
    public void flush() throws java.io.IOException {
      a.flush();
    }
  }
}
