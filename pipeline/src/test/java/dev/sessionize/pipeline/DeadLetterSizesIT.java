package dev.sessionize.pipeline;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessionize.pipeline.kafka.DeadLetterPayloads;
import dev.sessionize.pipeline.kafka.DeadLetterTopic;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.runners.servers.LocalKafka;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Dead letters of big records through a real broker: an input topic that accepts 4 MiB records, the
 * dead-letter topic created by the job at launch; records of 65 537 bytes (text) and 2 MiB (binary)
 * reach the dead-letter topic with their exact bytes, and the dead letter of 2 MiB of control
 * characters (12 MiB once JSON-escaped, over the topic's limit) keeps its bytes in a file of the
 * warehouse named by their SHA-256, referenced from the dead letter. A dead-letter topic that
 * accepts less than the input topic stops the launch with one line.
 */
@RunWith(JUnit4.class)
public class DeadLetterSizesIT {
  private static final int INPUT_LIMIT = 4 << 20;
  private static LocalKafka kafka;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @BeforeClass
  public static void startBroker() throws Exception {
    kafka = LocalKafka.start();
  }

  @AfterClass
  public static void stopBroker() throws IOException {
    if (kafka != null) {
      kafka.close();
    }
  }

  @Test
  public void deadLettersOfAnySizeKeepTheirExactBytes() throws Exception {
    createTopic("big_events", INPUT_LIMIT);
    byte[] justOver = new byte[65_537];
    Arrays.fill(justOver, (byte) 'x');
    byte[] binary = new byte[2 << 20];
    new Random(17).nextBytes(binary);
    binary[0] = (byte) 0xff; // never valid UTF-8
    byte[] controls = new byte[2 << 20];
    Arrays.fill(controls, (byte) 1);
    produce("big_events", List.of(justOver, binary, controls));

    File warehouse = tmp.newFolder("warehouse");
    SessionizationPipeline.Options options =
        options(
            "--inputTopic=big_events",
            "--deadLetterTopic=big_events_dlq",
            "--deadLetterExactlyOnce=true",
            "--warehouse=" + warehouse,
            "--output=" + tmp.newFolder("out"));
    PipelineResult result = SessionizationPipeline.run(options);
    try {
      // The launch created the dead-letter topic with room for a 4 MiB record's dead letter.
      try (Admin admin = admin()) {
        assertEquals(
            Optional.of(DeadLetterTopic.requiredFor(INPUT_LIMIT)),
            DeadLetterTopic.maxMessageBytes(admin, "big_events_dlq", 10_000));
      }
      List<ConsumerRecord<String, String>> letters = kafka.readAll("big_events_dlq", 3, 180_000);
      assertEquals(3, letters.size());
      Map<Long, JsonNode> byOffset = new TreeMap<>();
      ObjectMapper mapper = new ObjectMapper(); // no 1 MiB string limit: these are bigger
      for (ConsumerRecord<String, String> r : letters) {
        JsonNode letter = mapper.readTree(r.value());
        byOffset.put(letter.at("/source/offset").asLong(), letter);
      }

      JsonNode text = byOffset.get(0L);
      assertEquals("utf8", text.get("payload_encoding").asText());
      assertArrayEquals(justOver, text.get("payload").asText().getBytes(StandardCharsets.UTF_8));

      JsonNode bin = byOffset.get(1L);
      assertEquals("base64", bin.get("payload_encoding").asText());
      assertArrayEquals(binary, Base64.getDecoder().decode(bin.get("payload").asText()));

      JsonNode kept = byOffset.get(2L);
      assertFalse(kept.has("payload"));
      assertEquals(controls.length, kept.get("payload_length").asLong());
      assertEquals(DeadLetterPayloads.sha256(controls), kept.get("payload_sha256").asText());
      Path file = Path.of(URI.create(kept.get("payload_ref").asText()));
      assertEquals(
          warehouse.toPath().resolve(DeadLetterPayloads.FOLDER).toRealPath(),
          file.getParent().toRealPath());
      assertEquals(DeadLetterPayloads.sha256(controls), file.getFileName().toString());
      assertArrayEquals(controls, Files.readAllBytes(file));
      assertEquals(
          "no temporary file left",
          List.of(file.getFileName().toString()),
          Files.list(file.getParent()).map(p -> p.getFileName().toString()).toList());
      for (JsonNode letter : byOffset.values()) {
        assertEquals("OVERSIZE", letter.get("reason").asText());
      }
    } finally {
      result.cancel();
    }
  }

  @Test
  public void aDeadLetterTopicSmallerThanTheInputTopicStopsTheLaunch() throws Exception {
    createTopic("wide_events", INPUT_LIMIT);
    createTopic("narrow_dlq", 1 << 20);
    InvalidOptionsException e =
        assertThrows(
            InvalidOptionsException.class,
            () ->
                SessionizationPipeline.run(
                    options(
                        "--inputTopic=wide_events",
                        "--deadLetterTopic=narrow_dlq",
                        "--output=" + tmp.newFolder("out"))));
    assertEquals(1, e.problems().size());
    String line = e.problems().get(0);
    assertTrue(
        line,
        line.startsWith(
            "--deadLetterTopic=narrow_dlq accepts records up to 1048576 bytes (max.message.bytes),"
                + " less than --inputTopic=wide_events (4194304 bytes): raise it to "
                + DeadLetterTopic.requiredFor(INPUT_LIMIT)));
  }

  private static SessionizationPipeline.Options options(String... extra) {
    PipelineOptionsFactory.register(SessionizationPipeline.Options.class);
    String[] base = {
      "--source=kafka", "--bootstrapServers=" + kafka.bootstrapServers(), "--idleTimeout=2s"
    };
    String[] args = Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    SessionizationPipeline.Options options =
        PipelineOptionsFactory.fromArgs(args).as(SessionizationPipeline.Options.class);
    options.as(StreamingOptions.class).setStreaming(true);
    options.as(DirectOptions.class).setBlockOnRun(false);
    return options;
  }

  private static void createTopic(String name, int maxMessageBytes) throws Exception {
    try (Admin admin = admin()) {
      admin
          .createTopics(
              List.of(
                  new NewTopic(name, 1, (short) 1)
                      .configs(Map.of("max.message.bytes", String.valueOf(maxMessageBytes)))))
          .all()
          .get();
    }
  }

  private static void produce(String topic, List<byte[]> values) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, INPUT_LIMIT);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      for (byte[] value : values) {
        producer.send(new ProducerRecord<>(topic, 0, null, value)).get();
      }
    }
  }

  private static Admin admin() {
    return Admin.create(
        Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
  }
}
