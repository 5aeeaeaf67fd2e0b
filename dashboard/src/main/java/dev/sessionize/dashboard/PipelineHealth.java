package dev.sessionize.dashboard;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pipeline-health panel's figures, read from the same Prometheus endpoints an operator scrapes
 * (Flink's reporter on the JobManager and each TaskManager, {@code --metricsUrls}): the job's Beam
 * counters as the FlinkRunner forwards them ({@code records_read}, {@code dead_letter_<REASON>})
 * and KafkaIO's backlog per partition. Counters are summed over every series (subtasks, operators,
 * TaskManagers); rates come from the samples this server took itself, at most one a second: records
 * per second over the last 10 s, dead letters per reason over the last minute. A counter that goes
 * down (the job restarted, its counters start again at 0) counts from its new value.
 */
public final class PipelineHealth {
  static final String OPERATOR = "flink_taskmanager_job_task_operator_";
  static final String RECORDS_READ = OPERATOR + "sessionize_records_read";
  static final String DEAD_LETTER = OPERATOR + "sessionize_dead_letter_";
  private static final Pattern BACKLOG =
      Pattern.compile(Pattern.quote(OPERATOR) + "source_splits_[0-9]+_backlog_elements");
  private static final Pattern SAMPLE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{[^}]*\\})?\\s+(\\S+)(?:\\s+\\S+)?$");
  private static final long RATE_WINDOW_MS = 10_000;
  private static final long MINUTE_MS = 60_000;

  private final List<URI> endpoints;
  private final HttpClient http;
  private final LongSupplier clock;
  private final Deque<Sample> samples = new ArrayDeque<>();

  /** The figures of one scrape of every endpoint. */
  record Sample(long at, double recordsRead, Map<String, Double> deadLetters, double backlog) {}

  PipelineHealth(List<URI> endpoints, LongSupplier clock) {
    this.endpoints = List.copyOf(endpoints);
    this.clock = clock;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  }

  static PipelineHealth of(List<URI> endpoints) {
    return new PipelineHealth(endpoints, System::currentTimeMillis);
  }

  boolean configured() {
    return !endpoints.isEmpty();
  }

  /** The panel's JSON: scrapes when the newest sample is a second old or more. */
  synchronized Map<String, Object> read() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("configured", configured());
    if (!configured()) {
      return out;
    }
    long now = clock.getAsLong();
    if (samples.isEmpty() || now - samples.peekLast().at() >= 1_000) {
      StringBuilder text = new StringBuilder();
      for (URI endpoint : endpoints) {
        try {
          HttpResponse<String> response =
              http.send(
                  HttpRequest.newBuilder(endpoint).timeout(Duration.ofSeconds(3)).build(),
                  HttpResponse.BodyHandlers.ofString());
          if (response.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + response.statusCode());
          }
          text.append(response.body()).append('\n');
        } catch (Exception e) {
          out.put("ok", false);
          out.put(
              "error",
              endpoint
                  + " does not answer ("
                  + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                  + ")");
          return out;
        }
      }
      add(parse(now, text.toString()));
    }
    return figures(out);
  }

  /** Adds a sample taken at {@code sample.at()} and forgets those older than a minute and more. */
  synchronized void add(Sample sample) {
    samples.addLast(sample);
    while (samples.size() > 2
        && samples.peekLast().at() - samples.peekFirst().at() > 2 * MINUTE_MS) {
      samples.removeFirst();
    }
  }

  /** The figures from the samples so far (the newest is "now"). */
  synchronized Map<String, Object> figures(Map<String, Object> out) {
    Sample newest = samples.peekLast();
    out.put("ok", true);
    out.put("recordsRead", Math.round(newest.recordsRead()));
    Sample rateBase = oldestWithin(newest.at() - RATE_WINDOW_MS);
    double seconds = (newest.at() - rateBase.at()) / 1000.0;
    out.put(
        "recordsPerSecond",
        seconds <= 0 ? null : increase(rateBase.recordsRead(), newest.recordsRead()) / seconds);
    Sample minuteBase = oldestWithin(newest.at() - MINUTE_MS);
    out.put("deadLetterWindowSeconds", Math.round((newest.at() - minuteBase.at()) / 1000.0));
    Map<String, Long> perMinute = new TreeMap<>();
    newest
        .deadLetters()
        .forEach(
            (reason, n) ->
                perMinute.put(
                    reason,
                    Math.round(increase(minuteBase.deadLetters().getOrDefault(reason, 0.0), n))));
    out.put("deadLettersLastMinute", perMinute);
    out.put("sourceBacklog", Math.round(newest.backlog()));
    return out;
  }

  /** The oldest sample taken at or after {@code since}; the newest when none is older. */
  private Sample oldestWithin(long since) {
    for (Sample s : samples) {
      if (s.at() >= since) {
        return s;
      }
    }
    return samples.peekLast();
  }

  /** How much a counter grew; when it went down (a restarted job), its new value. */
  private static double increase(double before, double now) {
    return now >= before ? now - before : now;
  }

  /** The sums of a Prometheus text exposition (format 0.0.4) that the panel needs. */
  static Sample parse(long at, String text) {
    double read = 0;
    double backlog = 0;
    Map<String, Double> deadLetters = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("#")) {
        continue;
      }
      Matcher m = SAMPLE.matcher(line.trim());
      if (!m.matches()) {
        continue;
      }
      String name = m.group(1);
      double value;
      try {
        value = Double.parseDouble(m.group(2));
      } catch (NumberFormatException e) {
        continue; // NaN and infinities parse; anything else is not a figure
      }
      if (Double.isNaN(value) || Double.isInfinite(value)) {
        continue;
      }
      if (name.equals(RECORDS_READ)) {
        read += value;
      } else if (name.startsWith(DEAD_LETTER)) {
        deadLetters.merge(name.substring(DEAD_LETTER.length()), value, Double::sum);
      } else if (BACKLOG.matcher(name).matches()) {
        backlog += Math.max(0, value);
      }
    }
    return new Sample(at, read, deadLetters, backlog);
  }
}
