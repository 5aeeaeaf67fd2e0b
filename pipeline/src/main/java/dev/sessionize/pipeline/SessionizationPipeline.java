package dev.sessionize.pipeline;

import dev.sessionize.pipeline.iceberg.IcebergOptions;
import dev.sessionize.pipeline.kafka.KafkaOptions;
import dev.sessionize.pipeline.options.InvalidOptionsException;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.pipeline.redis.RedisOptions;
import dev.sessionize.pipeline.redis.RedisSinks;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.options.OptionsParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.joda.time.Duration;

/**
 * The sessionize job: raw click events in, sessions, dashboard documents and dead letters out.
 *
 * <p>{@code main} parses the options and calls {@link #run}; {@code run} validates them (one line
 * per bad option), turns them into typed {@link Settings} once, wires {@link Sources} → {@link
 * SessionizeClickstream} → {@link Sinks} and returns the result. To run it:
 *
 * <pre>{@code
 * ./sessionize run [--input=testdata/events/sample.jsonl] [--output=output]
 * ./sessionize run --source=kafka --bootstrapServers=localhost:9092 --sessionsSink=iceberg \
 *     --warehouse=warehouse --dashboardSink=redis --redisHost=localhost
 * ./sessionize run --help=dev.sessionize.pipeline.SessionizationPipeline\$Options
 * }</pre>
 */
public final class SessionizationPipeline {
  private SessionizationPipeline() {}

  /**
   * Options of the job: its source and sinks here, the rest by concern (Kafka, Redis, Iceberg, the
   * sessionize step, dead letters), each with its default.
   */
  public interface Options
      extends KafkaOptions, RedisOptions, IcebergOptions, SessionizeOptions, DeadLetterOptions {
    @Description(
        "Where records come from: 'file' (JSON lines from --input, bounded) or 'kafka' (--inputTopic"
            + " on --bootstrapServers, unbounded; dead letters then go to --deadLetterTopic).")
    @Default.String("file")
    String getSource();

    void setSource(String value);

    @Description("File pattern of JSON-lines input for --source=file.")
    @Default.String("testdata/events/sample.jsonl")
    String getInput();

    void setInput(String value);

    @Description("Folder for the file sinks: sessions, dashboard and dead-letter JSON lines.")
    @Default.String("output")
    String getOutput();

    void setOutput(String value);

    @Description(
        "Where sessions go: 'file' (JSON lines in --output, every emission) or 'iceberg' (the"
            + " --sessionsTable table in the Hadoop catalog at --warehouse, one row per session).")
    @Default.String("file")
    String getSessionsSink();

    void setSessionsSink(String value);

    @Description(
        "Where the dashboard goes: 'file' (JSON lines in --output) or 'redis' (dash:minute:*,"
            + " dash:latest and session:latest:<user_id> on --redisHost:--redisPort).")
    @Default.String("file")
    String getDashboardSink();

    void setDashboardSink(String value);

    @Description("Interval between sink commits (Iceberg commits; file flushes in streaming).")
    @Default.String("60s")
    String getCommitInterval();

    void setCommitInterval(String value);

    @Description(
        "How long the Iceberg sessions sink waits out an unreachable catalog or storage (or any"
            + " failed commit), retrying with backoff, before it fails the job; keep it below the"
            + " checkpoint timeout (a waiting commit holds the checkpoint back). 0s: no retry.")
    @Default.String("5m")
    String getIcebergMaxOutage();

    void setIcebergMaxOutage(String value);

    @Description(
        "Also append every record read (its exact bytes, Kafka position and timestamp, and when"
            + " it was read; records that do not parse too) to the --eventsTable Iceberg table,"
            + " committed every --commitInterval: the raw master dataset that BackfillSessions"
            + " replays.")
    @Default.Boolean(false)
    boolean getArchiveEvents();

    void setArchiveEvents(boolean value);

    @Description(
        "Check at launch that the Kafka broker and Redis answer and accept the credentials"
            + " (within --preflightTimeout); false skips the check.")
    @Default.Boolean(true)
    boolean getPreflight();

    void setPreflight(boolean value);

    @Description("How long the launch checks wait for each server.")
    @Default.String("10s")
    String getPreflightTimeout();

    void setPreflightTimeout(String value);
  }

  /** A started job and the options it was started with. */
  public record Launched(PipelineResult result, Options options) {}

  public static void main(String[] args) {
    Launched job;
    try {
      // A runner that runs the job in run() (the FlinkRunner attached) fails here, others below.
      job = launch(args);
      job.result().waitUntilFinish();
    } catch (RuntimeException e) {
      String lost = RedisSinks.PendingWritesLostException.find(e);
      if (lost != null) {
        // Redis writes that could not be written before the end: one line, not a stack trace.
        System.err.println("sessionize: " + lost);
        System.exit(1);
      }
      throw e;
    }
    System.out.println(summary(job.result(), job.options()));
  }

  /**
   * Parses and validates {@code args} and starts the job; a bad option prints one line each, naming
   * it, and exits with code 2.
   */
  public static Launched launch(String[] args) {
    return launch(OptionsParser.parseOrExit("sessionize", args, Options.class));
  }

  /**
   * Validates parsed {@code options} and starts the job; a bad option prints one line each, naming
   * it, and exits with code 2.
   */
  public static Launched launch(Options options) {
    try {
      return new Launched(run(options), options);
    } catch (InvalidOptionsException e) {
      for (String problem : e.problems()) {
        System.err.println("sessionize: " + problem);
      }
      System.exit(2);
      return null;
    }
  }

  /** Parses {@code args} into {@link Options} ({@link OptionsParser#parse}). */
  public static Options parse(String[] args) {
    return OptionsParser.parse(args, Options.class);
  }

  /** Validates the options, builds the pipeline and starts it. */
  public static PipelineResult run(Options options) {
    InvalidOptionsException.throwIfAny(validate(options));
    Settings settings = Settings.of(options);
    if (options.getPreflight()) {
      InvalidOptionsException.throwIfAny(Preflight.check(settings));
    }
    Pipeline pipeline = Pipeline.create(options);
    SessionizeClickstream sessionize =
        SessionizeClickstream.of(
                settings.config(),
                ParseEvents.create()
                    .withMaxRecordBytes(options.getMaxRecordBytes())
                    .withMaxFutureSkew(settings.maxFutureSkew()))
            .withSessionImpl(settings.sessionImpl());
    PCollection<RawRecord> records = pipeline.apply("ReadRecords", Sources.records(settings));
    if (options.getArchiveEvents()) {
      // The raw master dataset: every record read, before parsing (BackfillSessions replays it).
      records.apply("ArchiveRecords", Sinks.rawArchive(settings));
    }
    PCollectionTuple out = records.apply("SessionizeClickstream", sessionize);
    out.get(SessionizeClickstream.SESSIONS).apply("WriteSessions", Sinks.sessions(settings));
    out.get(SessionizeClickstream.DASHBOARD).apply("WriteDashboard", Sinks.dashboard(settings));
    Sinks.latestSessions(settings)
        .ifPresent(t -> out.get(SessionizeClickstream.SESSIONS).apply("WriteLatestSessions", t));
    out.get(SessionizeClickstream.DEAD_LETTERS)
        .apply("WriteDeadLetters", Sinks.deadLetters(settings));
    return pipeline.run();
  }

  /**
   * The event-time rules from the options; throws {@link InvalidOptionsException} if any option is
   * bad.
   */
  public static SessionizeConfig config(Options options) {
    InvalidOptionsException.throwIfAny(validate(options));
    return SessionizeOptions.config(options);
  }

  /** One line per bad option, naming it and the allowed values; empty when all are fine. */
  public static List<String> validate(Options o) {
    List<String> problems = new ArrayList<>();
    OptionChecks.choice(problems, "source", o.getSource(), Sources.Source.class, "not supported");
    OptionChecks.choice(
        problems, "sessionsSink", o.getSessionsSink(), Sinks.SessionsSink.class, "not supported");
    OptionChecks.choice(
        problems,
        "dashboardSink",
        o.getDashboardSink(),
        Sinks.DashboardSink.class,
        "not supported");
    problems.addAll(DeadLetterOptions.validate(o));
    if (OptionChecks.choice(Sinks.SessionsSink.class, o.getSessionsSink())
            == Sinks.SessionsSink.ICEBERG
        || o.getArchiveEvents()) {
      problems.addAll(IcebergOptions.validate(o));
    }
    problems.addAll(KafkaOptions.validate(o));
    problems.addAll(SessionizeOptions.validate(o));
    problems.addAll(RedisOptions.validate(o));
    Duration second = Duration.standardSeconds(1);
    OptionChecks.duration(
        problems, "commitInterval", o.getCommitInterval(), second, OptionChecks.ONE_DAY);
    OptionChecks.duration(
        problems, "icebergMaxOutage", o.getIcebergMaxOutage(), Duration.ZERO, OptionChecks.ONE_DAY);
    problems.addAll(SecretOptions.validate(o));
    problems.addAll(
        KafkaOptions.problems(
            o.getBootstrapServers(),
            new String[] {"inputTopic", o.getInputTopic()},
            new String[] {"deadLetterTopic", o.getDeadLetterTopic()}));
    if (OptionChecks.choice(Sources.Source.class, o.getSource()) == Sources.Source.FILE) {
      String input = o.getInput();
      if (input == null || input.isBlank()) {
        problems.add("--input is empty: give a file or a file pattern of JSON lines");
      } else if (!input.contains("*")
          && !input.contains("?")
          && !input.contains("://")
          && !Files.isRegularFile(Paths.get(input))) {
        problems.add("--input=" + input + " does not exist or is not a file");
      }
    }
    String output = o.getOutput();
    if (output == null || output.isBlank()) {
      problems.add("--output is empty: give a folder for the output files");
    } else if (!output.contains("://")) {
      Path existing = Paths.get(output).toAbsolutePath();
      while (existing != null && !Files.exists(existing)) {
        existing = existing.getParent();
      }
      if (existing == null || !Files.isDirectory(existing) || !Files.isWritable(existing)) {
        problems.add(
            "--output=" + output + " cannot be created: " + existing + " is not a writable folder");
      }
    }
    return problems;
  }

  /** What the run did and where the output went, from the pipeline's own counters. */
  public static String summary(PipelineResult result, Options options) {
    return Summary.of(result, options);
  }
}
