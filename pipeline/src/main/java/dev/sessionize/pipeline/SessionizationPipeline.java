package dev.sessionize.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessionize.transforms.Clock;
import dev.sessionize.transforms.EventParser;
import dev.sessionize.transforms.ParseEvents;
import dev.sessionize.transforms.SessionImpl;
import dev.sessionize.transforms.SessionizeClickstream;
import dev.sessionize.transforms.SessionizeConfig;
import dev.sessionize.transforms.SessionizeMetrics;
import dev.sessionize.transforms.model.DashboardMinute;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.RawRecord;
import dev.sessionize.transforms.model.Reason;
import dev.sessionize.transforms.model.Session;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.util.common.ReflectHelpers;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Duration;

/**
 * The sessionize job: raw click events in, sessions, dashboard documents and dead letters out.
 *
 * <p>{@code main} parses the options and calls {@link #run}; {@code run} validates them (one line
 * per bad option), wires source → {@link SessionizeClickstream} → sinks and returns the result.
 */
public final class SessionizationPipeline {
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  private static final Duration ONE_DAY = Duration.standardDays(1);

  private SessionizationPipeline() {}

  /** Options of the job; every duration, path, topic and server, with its default. */
  public interface Options extends IcebergOptions {
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

    @Description("Session gap: a session ends after this much inactivity in event time.")
    @Default.String("30m")
    String getSessionGap();

    void setSessionGap(String value);

    @Description("Allowed lateness after the watermark passes a session's end (at most 1d).")
    @Default.String("5m")
    String getAllowedLateness();

    void setAllowedLateness(String value);

    @Description("Bounded out-of-orderness of the source's watermark (at most 1d).")
    @Default.String("5m")
    String getMaxOutOfOrderness();

    void setMaxOutOfOrderness(String value);

    @Description("A partition without records for this long does not hold the watermark back.")
    @Default.String("1m")
    String getIdleTimeout();

    void setIdleTimeout(String value);

    @Description("Events further ahead of processing time than this are FUTURE_TIMESTAMP.")
    @Default.String("5m")
    String getMaxFutureSkew();

    void setMaxFutureSkew(String value);

    @Description("Records larger than this many bytes are OVERSIZE.")
    @Default.Integer(65536)
    int getMaxRecordBytes();

    void setMaxRecordBytes(int value);

    @Description(
        "Cap on a session's duration (event time): a user who never pauses for a whole gap, e.g. a"
            + " bot, gets a new session every this long. At least sessionGap + allowedLateness +"
            + " maxOutOfOrderness, at most 30d.")
    @Default.String("24h")
    String getMaxSessionDuration();

    void setMaxSessionDuration(String value);

    @Description("Cap on the pages_visited list of a session.")
    @Default.Integer(200)
    int getMaxPagesPerSession();

    void setMaxPagesPerSession(int value);

    @Description("ISO-4217 currency of the revenue column and the dashboard's revenue.")
    @Default.String("USD")
    String getReportingCurrency();

    void setReportingCurrency(String value);

    @Description("Size of a dashboard window.")
    @Default.String("1m")
    String getDashboardWindow();

    void setDashboardWindow(String value);

    @Description("Processing-time delay between dashboard firings while a minute is open.")
    @Default.String("1s")
    String getDashboardFiring();

    void setDashboardFiring(String value);

    @Description("Kafka bootstrap servers.")
    @Default.String("localhost:9092")
    String getBootstrapServers();

    void setBootstrapServers(String value);

    @Description("Kafka topic of the click events.")
    @Default.String("clickstream_events")
    String getInputTopic();

    void setInputTopic(String value);

    @Description("Kafka consumer group of the job.")
    @Default.String("sessionize")
    String getGroupId();

    void setGroupId(String value);

    @Description("Where a new consumer group starts: earliest or latest.")
    @Default.String("earliest")
    String getStartingOffsets();

    void setStartingOffsets(String value);

    @Description("Kafka topic of the dead letters.")
    @Default.String("clickstream_events_dlq")
    String getDeadLetterTopic();

    void setDeadLetterTopic(String value);

    @Description(
        "Write dead letters in Kafka transactions committed with the runner's checkpoints, so a"
            + " restart, also from an older checkpoint or savepoint, neither repeats nor loses one"
            + " (readers use isolation.level=read_committed). Needs a runner with checkpoints,"
            + " e.g. the FlinkRunner with --checkpointingInterval.")
    @Default.Boolean(false)
    boolean getDeadLetterExactlyOnce();

    void setDeadLetterExactlyOnce(boolean value);

    @Description("Redis host of the live dashboard.")
    @Default.String("localhost")
    String getRedisHost();

    void setRedisHost(String value);

    @Description("Redis port of the live dashboard.")
    @Default.Integer(6379)
    int getRedisPort();

    void setRedisPort(int value);

    @Description(
        "Where the dashboard goes: 'file' (JSON lines in --output) or 'redis' (dash:minute:*,"
            + " dash:latest and session:latest:<user_id> on --redisHost:--redisPort).")
    @Default.String("file")
    String getDashboardSink();

    void setDashboardSink(String value);

    @Description(
        "Name of the environment variable holding the Redis password (passwords never go on the"
            + " command line); unset or empty means no AUTH.")
    @Default.String("SESSIONIZE_REDIS_PASSWORD")
    String getRedisPasswordEnv();

    void setRedisPasswordEnv(String value);

    @Description("Connect to Redis over TLS.")
    @Default.Boolean(false)
    boolean getRedisTls();

    void setRedisTls(boolean value);

    @Description(
        "PEM file of the certificate authorities to trust for Redis over TLS (implies"
            + " --redisTls=true); empty means the JVM's trust store.")
    @Default.String("")
    String getRedisCaFile();

    void setRedisCaFile(String value);

    @Description(
        "Java properties file of Kafka client settings for every consumer, producer and admin"
            + " client of the job: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*;"
            + " a value ${env:NAME} is read from the environment. Secrets go here or in the"
            + " environment, never on the command line.")
    @Default.String("")
    String getKafkaPropertiesFile();

    void setKafkaPropertiesFile(String value);

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

    @Description("Time to live of the dash:minute:* documents.")
    @Default.String("48h")
    String getDashboardTtl();

    void setDashboardTtl(String value);

    @Description("Time to live of the session:latest:<user_id> documents.")
    @Default.String("24h")
    String getSessionTtl();

    void setSessionTtl(String value);

    @Description(
        "How long Redis writes still pending when their window ends (at the end of a bounded"
            + " input, or when a streaming job is drained) are retried while Redis is unreachable;"
            + " if Redis has not taken them by then, the job fails with one line saying so"
            + " instead of finishing without them (0s: one attempt).")
    @Default.String("5m")
    String getRedisFlushTimeout();

    void setRedisFlushTimeout(String value);

    @Description(
        "Where sessions go: 'file' (JSON lines in --output, every emission) or 'iceberg' (the"
            + " --sessionsTable table in the Hadoop catalog at --warehouse, one row per session).")
    @Default.String("file")
    String getSessionsSink();

    void setSessionsSink(String value);

    @Description("Interval between sink commits (Iceberg commits; file flushes in streaming).")
    @Default.String("60s")
    String getCommitInterval();

    void setCommitInterval(String value);

    @Description(
        "The sessions step: state (one stateful step per user, the default) or windows (Beam's"
            + " session windows with allowed lateness and accumulating panes: the reference"
            + " semantics). Both give the same rows.")
    @Default.String("state")
    String getSessionImpl();

    void setSessionImpl(String value);

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
  }

  /** A launch stopped by bad options; the message has one line per bad option. */
  public static final class InvalidOptionsException extends IllegalArgumentException {
    private final List<String> problems;

    InvalidOptionsException(List<String> problems) {
      super(String.join(System.lineSeparator(), problems));
      this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
      return problems;
    }
  }

  /** A started job and the options it was started with. */
  public record Launched(PipelineResult result, Options options) {}

  /**
   * Parses and validates {@code args} and starts the job; a bad option prints one line each, naming
   * it, and exits with code 2.
   */
  public static Launched launch(String[] args) {
    Options options;
    try {
      options = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("sessionize: " + firstLine(e.getMessage()));
      System.exit(2);
      return null;
    }
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

  /**
   * Parses {@code args} into {@link Options}; an unknown option, an unknown runner or a value of
   * the wrong type throws {@link IllegalArgumentException} whose first line names it. The values
   * themselves are checked by {@link #validate}.
   */
  public static Options parse(String[] args) {
    PipelineOptionsFactory.register(Options.class);
    for (String arg : args) {
      if (arg.startsWith("--runner=")) {
        String runner = arg.substring("--runner=".length());
        try {
          PipelineOptionsFactory.fromArgs(arg).create();
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              "--runner="
                  + runner
                  + " is not available: allowed values are "
                  + String.join(", ", availableRunners())
                  + " (the class name or its simple name)",
              e);
        }
      }
    }
    try {
      return PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    } catch (IllegalArgumentException e) {
      // Beam's message may not name the option (a bad int says only "Cannot deserialize value of
      // type `int` from String"): find the argument that fails on its own and name it.
      for (String arg : args) {
        try {
          PipelineOptionsFactory.fromArgs(arg).as(Options.class);
        } catch (IllegalArgumentException alone) {
          String message = firstLine(alone.getMessage());
          throw new IllegalArgumentException(
              message.contains("'" + optionName(arg) + "'")
                  ? message
                  : arg + " is not valid: " + message,
              e);
        }
      }
      throw e;
    }
  }

  private static String optionName(String arg) {
    String name = arg.startsWith("--") ? arg.substring(2) : arg;
    int eq = name.indexOf('=');
    return eq < 0 ? name : name.substring(0, eq);
  }

  /** Simple names of the runners on the class path. */
  static List<String> availableRunners() {
    List<String> names = new ArrayList<>();
    for (org.apache.beam.sdk.runners.PipelineRunnerRegistrar registrar :
        java.util.ServiceLoader.load(
            org.apache.beam.sdk.runners.PipelineRunnerRegistrar.class,
            SessionizationPipeline.class.getClassLoader())) {
      for (Class<?> runner : registrar.getPipelineRunners()) {
        names.add(runner.getSimpleName());
      }
    }
    java.util.Collections.sort(names);
    return names;
  }

  /**
   * True on the FlinkRunner with {@code --fasterCopy=true}, checkpoints and the heap state backend:
   * then a state object the job changes in place is the object a running checkpoint writes. These
   * are the runner's options, which this module does not compile against: they are read from the
   * JSON form in which Beam ships options to the workers.
   */
  static boolean sharesStateWithCheckpoints(PipelineOptions options) {
    JsonNode set = OPTIONS_JSON.valueToTree(options).path("options");
    boolean fasterCopy = set.path("fasterCopy").asBoolean(false);
    boolean checkpoints = set.path("checkpointingInterval").asLong(-1) > 0;
    boolean rocksdb = "rocksdb".equalsIgnoreCase(set.path("stateBackend").asText(""));
    return fasterCopy && checkpoints && !rocksdb;
  }

  private static final ObjectMapper OPTIONS_JSON =
      new ObjectMapper()
          .registerModules(ObjectMapper.findModules(ReflectHelpers.findClassLoader()));

  /** The sessions step chosen by {@code --sessionImpl} (validated). */
  static SessionImpl sessionImpl(Options options) {
    return "windows".equals(options.getSessionImpl()) ? SessionImpl.WINDOWS : SessionImpl.STATE;
  }

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

  /** Validates the options, builds the pipeline and starts it. */
  public static PipelineResult run(Options options) {
    SessionizeConfig config = config(options);
    if (options.getPreflight()) {
      List<String> unreachable = Preflight.check(options);
      if (!unreachable.isEmpty()) {
        throw new InvalidOptionsException(unreachable);
      }
    }
    KafkaClientProperties kafkaProperties =
        KafkaClientProperties.of(options.getKafkaPropertiesFile());
    Duration maxFutureSkew = DurationOption.parse(options.getMaxFutureSkew());
    boolean kafka = "kafka".equals(options.getSource());
    Pipeline pipeline = Pipeline.create(options);
    PCollection<RawRecord> records =
        kafka
            ? pipeline.apply(
                "ReadRecords",
                new ReadFromKafka(
                    options.getBootstrapServers(),
                    options.getInputTopic(),
                    options.getGroupId(),
                    options.getStartingOffsets(),
                    new EventParser(options.getMaxRecordBytes(), maxFutureSkew),
                    config.maxOutOfOrderness(),
                    DurationOption.parse(options.getIdleTimeout()),
                    kafkaProperties))
            : pipeline.apply("ReadRecords", ReadJsonLines.from(options.getInput()));
    SessionizeClickstream sessionize =
        SessionizeClickstream.of(
                config,
                ParseEvents.create()
                    .withMaxRecordBytes(options.getMaxRecordBytes())
                    .withMaxFutureSkew(maxFutureSkew))
            .withSessionImpl(sessionImpl(options));
    String folder = options.getOutput();
    Duration flush = DurationOption.parse(options.getCommitInterval());
    if (options.getArchiveEvents()) {
      // The raw master dataset: every record read, before parsing (BackfillSessions replays it).
      records.apply(
          "ArchiveRecords",
          new ArchiveEvents(
              IcebergOptions.catalog(options), options.getEventsTable(), flush, Clock.system()));
    }
    PCollectionTuple out = records.apply("SessionizeClickstream", sessionize);
    if ("iceberg".equals(options.getSessionsSink())) {
      out.get(SessionizeClickstream.SESSIONS)
          .apply(
              "WriteSessions",
              new WriteSessionsToIceberg(
                  IcebergOptions.catalog(options),
                  options.getSessionsTable(),
                  flush,
                  DurationOption.parse(options.getIcebergMaxOutage())));
    } else {
      out.get(SessionizeClickstream.SESSIONS)
          .apply("SessionsToJson", MapElements.into(TypeDescriptors.strings()).via(Session::toJson))
          .apply("WriteSessions", WriteJsonLines.to(folder + "/sessions").withFlushInterval(flush));
    }
    if ("redis".equals(options.getDashboardSink())) {
      RedisSinks.Endpoint redis = redisEndpoint(options);
      out.get(SessionizeClickstream.DASHBOARD)
          .apply(
              "WriteDashboard",
              RedisSinks.dashboard(
                  redis,
                  DurationOption.parse(options.getDashboardTtl()),
                  DurationOption.parse(options.getRedisFlushTimeout())));
      out.get(SessionizeClickstream.SESSIONS)
          .apply(
              "WriteLatestSessions",
              RedisSinks.latestSessions(
                  redis,
                  DurationOption.parse(options.getSessionTtl()),
                  DurationOption.parse(options.getRedisFlushTimeout())));
    } else {
      out.get(SessionizeClickstream.DASHBOARD)
          .apply(
              "DashboardToJson",
              MapElements.into(TypeDescriptors.strings())
                  .via((DashboardMinute d) -> d.redisKey() + "\t" + d.toJson()))
          .apply(
              "WriteDashboard", WriteJsonLines.to(folder + "/dashboard").withFlushInterval(flush));
    }
    PCollection<DeadLetter> deadLetters = out.get(SessionizeClickstream.DEAD_LETTERS);
    if (kafka) {
      deadLetters.apply(
          "WriteDeadLetters",
          new WriteDeadLettersToKafka(
              options.getBootstrapServers(),
              options.getDeadLetterTopic(),
              options.getDeadLetterExactlyOnce() ? options.getGroupId() + "-dead-letters" : null,
              kafkaProperties,
              options.getWarehouse()));
    } else {
      deadLetters
          .apply(
              "DeadLettersToJson",
              MapElements.into(TypeDescriptors.strings()).via(DeadLetter::toJson))
          .apply("WriteDeadLetters", WriteJsonLines.to(folder + "/dead-letters"));
    }
    return pipeline.run();
  }

  /** Where the dashboard's Redis is; the password stays in the environment until connecting. */
  static RedisSinks.Endpoint redisEndpoint(Options options) {
    return new RedisSinks.Endpoint(
        options.getRedisHost(),
        options.getRedisPort(),
        options.getRedisPasswordEnv(),
        options.getRedisTls(),
        options.getRedisCaFile());
  }

  /**
   * The event-time rules from the options; throws {@link InvalidOptionsException} if any is bad.
   */
  public static SessionizeConfig config(Options options) {
    List<String> problems = validate(options);
    if (!problems.isEmpty()) {
      throw new InvalidOptionsException(problems);
    }
    return SessionizeConfig.defaults().toBuilder()
        .setSessionGap(DurationOption.parse(options.getSessionGap()))
        .setAllowedLateness(DurationOption.parse(options.getAllowedLateness()))
        .setMaxOutOfOrderness(DurationOption.parse(options.getMaxOutOfOrderness()))
        .setMaxSessionDuration(DurationOption.parse(options.getMaxSessionDuration()))
        .setMaxPagesPerSession(options.getMaxPagesPerSession())
        .setReportingCurrency(options.getReportingCurrency())
        .setDashboardWindow(DurationOption.parse(options.getDashboardWindow()))
        .setDashboardFiring(DurationOption.parse(options.getDashboardFiring()))
        .build();
  }

  /** One line per bad option, naming it and the allowed values; empty when all are fine. */
  public static List<String> validate(Options o) {
    List<String> problems = new ArrayList<>();
    if (!"file".equals(o.getSource()) && !"kafka".equals(o.getSource())) {
      problems.add(
          "--source=" + o.getSource() + " is not supported: allowed values are file, kafka");
    }
    if (!"file".equals(o.getSessionsSink()) && !"iceberg".equals(o.getSessionsSink())) {
      problems.add(
          "--sessionsSink="
              + o.getSessionsSink()
              + " is not supported: allowed values are file, iceberg");
    }
    if ("iceberg".equals(o.getSessionsSink()) || o.getArchiveEvents()) {
      problems.addAll(IcebergOptions.validate(o));
    }
    if (!"state".equals(o.getSessionImpl()) && !"windows".equals(o.getSessionImpl())) {
      problems.add(
          "--sessionImpl="
              + o.getSessionImpl()
              + " is not supported: allowed values are state, windows");
    }
    if (!"file".equals(o.getDashboardSink()) && !"redis".equals(o.getDashboardSink())) {
      problems.add(
          "--dashboardSink="
              + o.getDashboardSink()
              + " is not supported: allowed values are file, redis");
    }
    if (!"earliest".equals(o.getStartingOffsets()) && !"latest".equals(o.getStartingOffsets())) {
      problems.add(
          "--startingOffsets="
              + o.getStartingOffsets()
              + " is not valid: allowed values are earliest, latest");
    }
    if (o.getGroupId() == null || o.getGroupId().isBlank()) {
      problems.add("--groupId is empty: give the Kafka consumer group of the job");
    }
    duration(problems, "sessionGap", o.getSessionGap(), Duration.millis(1), ONE_DAY);
    duration(problems, "allowedLateness", o.getAllowedLateness(), Duration.ZERO, ONE_DAY);
    duration(problems, "maxOutOfOrderness", o.getMaxOutOfOrderness(), Duration.ZERO, ONE_DAY);
    maxSessionDuration(problems, o);
    duration(problems, "idleTimeout", o.getIdleTimeout(), Duration.millis(1), ONE_DAY);
    duration(problems, "maxFutureSkew", o.getMaxFutureSkew(), Duration.ZERO, ONE_DAY);
    duration(
        problems, "dashboardWindow", o.getDashboardWindow(), Duration.standardSeconds(1), ONE_DAY);
    duration(
        problems,
        "dashboardFiring",
        o.getDashboardFiring(),
        Duration.millis(1),
        Duration.standardHours(1));
    duration(
        problems,
        "dashboardTtl",
        o.getDashboardTtl(),
        Duration.standardSeconds(1),
        Duration.standardDays(365));
    duration(
        problems,
        "sessionTtl",
        o.getSessionTtl(),
        Duration.standardSeconds(1),
        Duration.standardDays(365));
    duration(problems, "redisFlushTimeout", o.getRedisFlushTimeout(), Duration.ZERO, ONE_DAY);
    duration(
        problems, "commitInterval", o.getCommitInterval(), Duration.standardSeconds(1), ONE_DAY);
    duration(problems, "icebergMaxOutage", o.getIcebergMaxOutage(), Duration.ZERO, ONE_DAY);
    range(problems, "maxRecordBytes", o.getMaxRecordBytes(), 1, 16 << 20);
    range(problems, "maxPagesPerSession", o.getMaxPagesPerSession(), 1, 10_000);
    range(problems, "redisPort", o.getRedisPort(), 1, 65_535);
    problems.addAll(SecretOptions.validate(o));
    if ("windows".equals(o.getSessionImpl()) && sharesStateWithCheckpoints(o)) {
      problems.add(
          "--sessionImpl=windows is not safe with --fasterCopy=true on the heap state backend with"
              + " checkpoints (the session windows change their accumulators in place, which such"
              + " a checkpoint shares): use --sessionImpl=state, --stateBackend=rocksdb or"
              + " --fasterCopy=false");
    }
    if (o.getReportingCurrency() == null || !CURRENCY.matcher(o.getReportingCurrency()).matches()) {
      problems.add(
          "--reportingCurrency="
              + o.getReportingCurrency()
              + " is not valid: use a 3-letter upper-case ISO-4217 code such as USD");
    }
    problems.addAll(
        kafkaProblems(
            o.getBootstrapServers(),
            new String[] {"inputTopic", o.getInputTopic()},
            new String[] {"deadLetterTopic", o.getDeadLetterTopic()}));
    if ("file".equals(o.getSource())) {
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
      Path folder = Paths.get(output).toAbsolutePath();
      Path existing = folder;
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

  private static void duration(
      List<String> problems, String name, String value, Duration min, Duration max) {
    Duration d;
    try {
      d = DurationOption.parse(value);
    } catch (IllegalArgumentException e) {
      problems.add("--" + name + "=" + value + " is not valid: " + e.getMessage());
      return;
    }
    if (d.isShorterThan(min) || d.isLongerThan(max)) {
      problems.add(
          "--"
              + name
              + "="
              + value
              + " is out of range: allowed values are "
              + DurationOption.format(min)
              + " to "
              + DurationOption.format(max));
    }
  }

  /**
   * A session cut must come well after anything late data can still change: at least gap + allowed
   * lateness + out-of-orderness (40m by default), at most 30d.
   */
  private static void maxSessionDuration(List<String> problems, Options o) {
    Duration min = Duration.standardMinutes(1);
    try {
      Duration gap = DurationOption.parse(o.getSessionGap());
      Duration lateness = DurationOption.parse(o.getAllowedLateness());
      Duration outOfOrder = DurationOption.parse(o.getMaxOutOfOrderness());
      Duration sum = gap.plus(lateness).plus(outOfOrder);
      // A bad one of the three is reported on its own line, not again here.
      boolean inRange =
          gap.isLongerThan(Duration.ZERO)
              && !gap.isLongerThan(ONE_DAY)
              && !lateness.isShorterThan(Duration.ZERO)
              && !lateness.isLongerThan(ONE_DAY)
              && !outOfOrder.isShorterThan(Duration.ZERO)
              && !outOfOrder.isLongerThan(ONE_DAY);
      if (inRange && sum.isLongerThan(min)) {
        min = sum;
      }
    } catch (IllegalArgumentException e) {
      // reported on its own line
    }
    Duration max = Duration.standardDays(30);
    Duration d;
    try {
      d = DurationOption.parse(o.getMaxSessionDuration());
    } catch (IllegalArgumentException e) {
      problems.add(
          "--maxSessionDuration=" + o.getMaxSessionDuration() + " is not valid: " + e.getMessage());
      return;
    }
    if (d.isShorterThan(min) || d.isLongerThan(max)) {
      problems.add(
          "--maxSessionDuration="
              + o.getMaxSessionDuration()
              + " is out of range: allowed values are "
              + DurationOption.format(min)
              + " (sessionGap + allowedLateness + maxOutOfOrderness) to "
              + DurationOption.format(max));
    }
  }

  private static void range(List<String> problems, String name, int value, int min, int max) {
    if (value < min || value > max) {
      problems.add(
          "--" + name + "=" + value + " is out of range: allowed values are " + min + " to " + max);
    }
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "invalid options";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  /** What the run did and where the output went, from the pipeline's own counters. */
  public static String summary(PipelineResult result, Options options) {
    long read = SessionizeMetrics.read(result, "records_read");
    long accepted = SessionizeMetrics.read(result, "accepted");
    long duplicates = SessionizeMetrics.read(result, "duplicates");
    long finals = SessionizeMetrics.read(result, "sessions_final");
    long emissions = SessionizeMetrics.read(result, "session_emissions");
    StringBuilder deadLetters = new StringBuilder();
    long dead = 0;
    for (Reason reason : Reason.values()) {
      long n = SessionizeMetrics.read(result, "dead_letter_" + reason.name());
      dead += n;
      if (n > 0) {
        deadLetters
            .append(deadLetters.length() == 0 ? "" : ", ")
            .append(reason)
            .append('=')
            .append(n);
      }
    }
    String folder = new File(options.getOutput()).getAbsolutePath();
    return String.format(
        Locale.ROOT,
        "sessionize: read %d records: %d events accepted into %d sessions (%d emissions), "
            + "%d duplicates, %d dead letters%s%n"
            + "sessionize: accounting %s: read %d = accepted %d + duplicates %d + dead letters %d%n"
            + "sessionize: sessions     -> %s%n"
            + "sessionize: dashboard    -> %s%n"
            + "sessionize: dead letters -> %s/dead-letters-00000-of-00001.jsonl",
        read,
        accepted,
        finals,
        emissions,
        duplicates,
        dead,
        dead == 0 ? "" : " (" + deadLetters + ")",
        read == accepted + duplicates + dead ? "holds" : "BROKEN",
        read,
        accepted,
        duplicates,
        dead,
        "iceberg".equals(options.getSessionsSink())
            ? "iceberg table "
                + options.getSessionsTable()
                + " in "
                + IcebergOptions.catalog(options)
            : folder + "/sessions-00000-of-00001.jsonl",
        "redis".equals(options.getDashboardSink())
            ? "redis://"
                + options.getRedisHost()
                + ":"
                + options.getRedisPort()
                + " (dash:minute:*, dash:latest, session:latest:*)"
            : folder + "/dashboard-00000-of-00001.jsonl",
        folder);
  }

  /**
   * One line per bad Kafka option: {@code --bootstrapServers} and each topic option, given as
   * {option name, value} pairs.
   */
  static List<String> kafkaProblems(String bootstrapServers, String[]... topics) {
    List<String> problems = new ArrayList<>();
    for (String[] t : topics) {
      if (t[1] == null || !t[1].matches("[A-Za-z0-9._-]{1,249}")) {
        problems.add(
            "--"
                + t[0]
                + "="
                + t[1]
                + " is not a valid Kafka topic name: use 1-249 of [A-Za-z0-9._-]");
      }
    }
    if (bootstrapServers == null
        || !bootstrapServers.matches("[^,\\s]+:\\d{1,5}(,[^,\\s]+:\\d{1,5})*")) {
      problems.add(
          "--bootstrapServers=" + bootstrapServers + " is not valid: use host:port[,host:port...]");
    }
    return problems;
  }
}
