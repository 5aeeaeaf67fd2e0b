package dev.sessionize.pipeline.kafka;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Kafka client settings from a properties file ({@code --kafkaPropertiesFile}): security (SASL
 * mechanism and JAAS config, TLS trust and key stores) and any other client property, applied to
 * every consumer, producer and admin client of the job. The pipeline carries only the file's path:
 * the file is read (and {@code ${env:NAME}} values resolved) by the process that opens the client,
 * through KafkaIO's consumer and producer factories, so a password never becomes part of the
 * pipeline, its options or its display data. The job's own settings (bootstrap servers, group id,
 * serializers, offsets) win over the file's.
 */
public final class KafkaClientProperties implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Pattern ENV = Pattern.compile("\\$\\{env:([A-Za-z_][A-Za-z0-9_]*)}");

  private final @Nullable String file;

  private KafkaClientProperties(@Nullable String file) {
    this.file = file;
  }

  /** The properties of {@code file}; none when it is null or empty. */
  public static KafkaClientProperties of(@Nullable String file) {
    return new KafkaClientProperties(file == null || file.isBlank() ? null : file);
  }

  /** Problems of the file, one line each naming {@code --kafkaPropertiesFile}; never a value. */
  public List<String> problems(UnaryOperator<String> env) {
    List<String> problems = new ArrayList<>();
    if (file == null) {
      return problems;
    }
    Properties p;
    try {
      p = read();
    } catch (IOException | IllegalArgumentException e) {
      problems.add(
          "--kafkaPropertiesFile="
              + file
              + " cannot be read: "
              + e.getClass().getSimpleName()
              + " (give a readable Java properties file)");
      return problems;
    }
    for (String key : new TreeMap<>(p).keySet().stream().map(Object::toString).toList()) {
      Matcher m = ENV.matcher(p.getProperty(key));
      while (m.find()) {
        if (env.apply(m.group(1)) == null) {
          problems.add(
              "--kafkaPropertiesFile="
                  + file
                  + ": "
                  + key
                  + " reads the environment variable "
                  + m.group(1)
                  + ", which is not set");
        }
      }
    }
    return problems;
  }

  /** The file's properties with {@code ${env:NAME}} resolved from this process's environment. */
  public Map<String, Object> load() {
    Map<String, Object> resolved = new HashMap<>();
    if (file == null) {
      return resolved;
    }
    Properties p;
    try {
      p = read();
    } catch (IOException e) {
      throw new IllegalStateException(
          "--kafkaPropertiesFile=" + file + " cannot be read: " + e.getClass().getSimpleName());
    }
    for (String key : p.stringPropertyNames()) {
      Matcher m = ENV.matcher(p.getProperty(key));
      StringBuilder value = new StringBuilder();
      while (m.find()) {
        String v = System.getenv(m.group(1));
        m.appendReplacement(value, Matcher.quoteReplacement(v == null ? "" : v));
      }
      m.appendTail(value);
      resolved.put(key, value.toString());
    }
    return resolved;
  }

  /** {@code config} (the job's, which wins) over the file's properties. */
  public Map<String, Object> merge(Map<String, Object> config) {
    Map<String, Object> merged = load();
    merged.putAll(config);
    return merged;
  }

  /** KafkaIO's consumer factory: a {@link KafkaConsumer} with the file's properties. */
  public SerializableFunction<Map<String, Object>, Consumer<byte[], byte[]>> consumers() {
    KafkaClientProperties self = this;
    return config -> new KafkaConsumer<>(self.merge(config));
  }

  /** KafkaIO's producer factory: a {@link KafkaProducer} with the file's properties. */
  public <K, V> SerializableFunction<Map<String, Object>, Producer<K, V>> producers() {
    KafkaClientProperties self = this;
    return config -> new KafkaProducer<>(self.merge(config));
  }

  private Properties read() throws IOException {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(Paths.get(file), StandardCharsets.UTF_8)) {
      p.load(in);
    }
    return p;
  }

  /** The file's path, never its contents. */
  @Override
  public String toString() {
    return file == null ? "no Kafka client properties" : "Kafka client properties " + file;
  }
}
