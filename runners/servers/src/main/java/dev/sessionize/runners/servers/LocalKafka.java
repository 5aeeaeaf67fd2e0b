package dev.sessionize.runners.servers;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka broker (KRaft: broker and controller in one process) started in this JVM
 * from the Maven jars, on free loopback ports, with its log in a temporary folder.
 */
public final class LocalKafka implements AutoCloseable {
  private KafkaRaftServer server;
  private final Properties config;
  private final Path logDir;
  private final String bootstrapServers;
  private final String saslBootstrapServers;

  private LocalKafka(
      KafkaRaftServer server,
      Properties config,
      Path logDir,
      String bootstrapServers,
      String saslBootstrapServers) {
    this.server = server;
    this.config = config;
    this.logDir = logDir;
    this.bootstrapServers = bootstrapServers;
    this.saslBootstrapServers = saslBootstrapServers;
  }

  public static LocalKafka start() throws IOException {
    return start(false);
  }

  /**
   * A broker with a second listener, SASL_PLAINTEXT with SCRAM-SHA-512, next to the PLAINTEXT one
   * (which the broker itself and the test's own clients use); add users with {@link #addScramUser}.
   */
  public static LocalKafka startWithScram() throws IOException {
    return start(true);
  }

  private static LocalKafka start(boolean scram) throws IOException {
    int brokerPort = freePort();
    int controllerPort = freePort();
    int saslPort = scram ? freePort() : -1;
    Path logDir = Files.createTempDirectory("sessionize-kafka");
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    String sasl = scram ? ",SASL_PLAINTEXT://127.0.0.1:" + saslPort : "";
    p.put(
        "listeners",
        "PLAINTEXT://127.0.0.1:" + brokerPort + sasl + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + sasl);
    p.put("controller.listener.names", "CONTROLLER");
    p.put(
        "listener.security.protocol.map",
        "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            + (scram ? ",SASL_PLAINTEXT:SASL_PLAINTEXT" : ""));
    if (scram) {
      p.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
      p.put("listener.name.sasl_plaintext.sasl.enabled.mechanisms", "SCRAM-SHA-512");
      p.put(
          "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required;");
    }
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "1");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    // "Format" the storage: the meta.properties that kafka-storage.sh would write.
    Files.writeString(
        logDir.resolve("meta.properties"),
        "version=1\ncluster.id=" + Uuid.randomUuid() + "\nnode.id=1\n");
    KafkaRaftServer server = new KafkaRaftServer(new KafkaConfig(p), Time.SYSTEM);
    server.startup();
    return new LocalKafka(
        server, p, logDir, "127.0.0.1:" + brokerPort, scram ? "127.0.0.1:" + saslPort : null);
  }

  /** The PLAINTEXT listener. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The SASL_PLAINTEXT (SCRAM-SHA-512) listener of {@link #startWithScram}. */
  public String saslBootstrapServers() {
    return saslBootstrapServers;
  }

  /**
   * Creates (or replaces) a SCRAM-SHA-512 user through the Admin API and waits until the SASL
   * listener accepts it.
   */
  public void addScramUser(String user, String password) throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
      admin
          .alterUserScramCredentials(
              List.of(
                  new UserScramCredentialUpsertion(
                      user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password)))
          .all()
          .get();
    }
    Map<String, Object> sasl = new java.util.HashMap<>();
    sasl.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, saslBootstrapServers);
    sasl.put("security.protocol", "SASL_PLAINTEXT");
    sasl.put("sasl.mechanism", "SCRAM-SHA-512");
    sasl.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + user
            + "\" password=\""
            + password
            + "\";");
    long deadline = System.currentTimeMillis() + 30_000;
    while (true) {
      try (Admin admin = Admin.create(sasl)) {
        admin.describeCluster().clusterId().get(5, java.util.concurrent.TimeUnit.SECONDS);
        return;
      } catch (Exception e) {
        if (System.currentTimeMillis() > deadline) {
          throw new IllegalStateException("the SCRAM user was not accepted", e);
        }
        Thread.sleep(200);
      }
    }
  }

  /**
   * Stops the broker, keeping its log folder and ports, to be started again by {@link #restart}.
   */
  public void stop() {
    server.shutdown();
    server.awaitShutdown();
    server = null;
  }

  /** Starts the broker again on the same ports and log folder after {@link #stop}. */
  public void restart() {
    server = new KafkaRaftServer(new KafkaConfig(config), Time.SYSTEM);
    server.startup();
  }

  public void createTopic(String name, int partitions) throws Exception {
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers))) {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    }
  }

  /** Sends each value, round-robin over the topic's partitions, and waits for every ack. */
  public void produce(String topic, int partitions, List<byte[]> values) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 4 << 20);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      int i = 0;
      for (byte[] value : values) {
        producer.send(new ProducerRecord<>(topic, i++ % partitions, null, value)).get();
      }
    }
  }

  /**
   * Every record of a topic as (key, value) strings, reading from the beginning with {@code
   * read_committed}, until {@code expected} records or the timeout.
   */
  public List<ConsumerRecord<String, String>> readAll(
      String topic, int expected, long timeoutMillis) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + Uuid.randomUuid());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    // Only committed records of transactional producers (the exactly-once dead-letter sink).
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    List<ConsumerRecord<String, String>> records = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + timeoutMillis;
      while (records.size() < expected && System.currentTimeMillis() < deadline) {
        consumer.poll(java.time.Duration.ofMillis(500)).forEach(records::add);
      }
    }
    return records;
  }

  @Override
  public void close() throws IOException {
    if (server != null) {
      server.shutdown();
      server.awaitShutdown();
    }
    try (Stream<Path> files = Files.walk(logDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
