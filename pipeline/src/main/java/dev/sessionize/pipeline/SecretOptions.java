package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.IcebergCatalog;
import dev.sessionize.pipeline.kafka.KafkaClientProperties;
import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.redis.RedisSinks;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.joda.time.Duration;

/**
 * The rules of the options that lead to a secret. A secret never goes on the command line (it would
 * be in the shell history, in {@code ps}, and in the pipeline options that runners log and show):
 * options name an environment variable or a file instead, and an option that looks like it holds a
 * secret is rejected without repeating its value.
 */
final class SecretOptions {
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern ENV_VALUE = Pattern.compile("\\$\\{env:[A-Za-z_][A-Za-z0-9_]*}");
  private static final Pattern SECRET_KEY =
      Pattern.compile(
          ".*(password|passwd|secret|token|credential|jaas).*", Pattern.CASE_INSENSITIVE);

  private SecretOptions() {}

  static List<String> validate(SessionizationPipeline.Options o) {
    List<String> problems = new ArrayList<>();
    String env = o.getRedisPasswordEnv();
    if (env != null && !env.isEmpty() && !ENV_NAME.matcher(env).matches()) {
      // Not repeated: it may be the password itself.
      problems.add(
          "--redisPasswordEnv is not an environment variable name: give the name of the variable"
              + " that holds the password (letters, digits, _), never the password");
    }
    problems.addAll(KafkaClientProperties.of(o.getKafkaPropertiesFile()).problems(System::getenv));
    String ca = o.getRedisCaFile();
    if (ca != null && !ca.isBlank()) {
      if (!new File(ca).canRead()) {
        problems.add("--redisCaFile=" + ca + " does not exist or cannot be read");
      } else {
        try {
          RedisSinks.trusting(ca);
        } catch (IllegalArgumentException e) {
          problems.add("--redisCaFile=" + ca + " is not a PEM file of certificates");
        }
      }
    }
    try {
      Map<String, String> catalog = IcebergCatalog.parseProperties(o.getCatalogProperties());
      for (Map.Entry<String, String> p : catalog.entrySet()) {
        if (SECRET_KEY.matcher(p.getKey()).matches()
            && !p.getValue().isEmpty()
            && !ENV_VALUE.matcher(p.getValue()).matches()) {
          problems.add(
              "--catalogProperties: "
                  + p.getKey()
                  + " is a secret and must not be on the command line: write "
                  + p.getKey()
                  + "=${env:NAME} and put it in the environment variable NAME");
        }
      }
    } catch (IllegalArgumentException e) {
      // reported by IcebergOptions.validate
    }
    try {
      Duration timeout = DurationOption.parse(o.getPreflightTimeout());
      if (timeout.isShorterThan(Duration.millis(100))
          || timeout.isLongerThan(Duration.standardMinutes(5))) {
        problems.add(
            "--preflightTimeout="
                + o.getPreflightTimeout()
                + " is out of range: allowed values are 100ms to 5m");
      }
    } catch (IllegalArgumentException e) {
      problems.add(
          "--preflightTimeout=" + o.getPreflightTimeout() + " is not valid: " + e.getMessage());
    }
    return problems;
  }
}
