package dev.sessionize.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.options.OptionChecks;
import dev.sessionize.transforms.SessionImpl;
import dev.sessionize.transforms.SessionizeConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.util.common.ReflectHelpers;

/** The sessionize step: the event-time rules, the limits on records and sessions, the currency. */
public interface SessionizeOptions extends EventTimeOptions {
  @Description("Records larger than this many bytes are OVERSIZE.")
  @Default.Integer(65536)
  int getMaxRecordBytes();

  void setMaxRecordBytes(int value);

  @Description("Cap on the pages_visited list of a session.")
  @Default.Integer(200)
  int getMaxPagesPerSession();

  void setMaxPagesPerSession(int value);

  @Description("ISO-4217 currency of the revenue column and the dashboard's revenue.")
  @Default.String("USD")
  String getReportingCurrency();

  void setReportingCurrency(String value);

  @Description(
      "The sessions step: state (one stateful step per user, the default) or windows (Beam's"
          + " session windows with allowed lateness and accumulating panes: the reference"
          + " semantics). Both give the same rows.")
  @Default.String("state")
  String getSessionImpl();

  void setSessionImpl(String value);

  /** One line per bad option of the step (the event-time rules included). */
  static List<String> validate(SessionizeOptions o) {
    List<String> problems = new ArrayList<>();
    OptionChecks.choice(
        problems, "sessionImpl", o.getSessionImpl(), SessionImpl.class, "not supported");
    problems.addAll(EventTimeOptions.validate(o));
    OptionChecks.range(problems, "maxRecordBytes", o.getMaxRecordBytes(), 1, 16 << 20);
    OptionChecks.range(problems, "maxPagesPerSession", o.getMaxPagesPerSession(), 1, 10_000);
    if (SessionImpl.WINDOWS == OptionChecks.choice(SessionImpl.class, o.getSessionImpl())
        && Internal.sharesStateWithCheckpoints(o)) {
      problems.add(
          "--sessionImpl=windows is not safe with --fasterCopy=true on the heap state backend with"
              + " checkpoints (the session windows change their accumulators in place, which such"
              + " a checkpoint shares): use --sessionImpl=state, --stateBackend=rocksdb or"
              + " --fasterCopy=false");
    }
    if (o.getReportingCurrency() == null
        || !Internal.CURRENCY.matcher(o.getReportingCurrency()).matches()) {
      problems.add(
          "--reportingCurrency="
              + o.getReportingCurrency()
              + " is not valid: use a 3-letter upper-case ISO-4217 code such as USD");
    }
    return problems;
  }

  /** The rules of the step from valid options, parsed once. */
  static SessionizeConfig config(SessionizeOptions o) {
    return SessionizeConfig.defaults().toBuilder()
        .setSessionGap(DurationOption.parse(o.getSessionGap()))
        .setAllowedLateness(DurationOption.parse(o.getAllowedLateness()))
        .setMaxOutOfOrderness(DurationOption.parse(o.getMaxOutOfOrderness()))
        .setMaxSessionDuration(DurationOption.parse(o.getMaxSessionDuration()))
        .setMaxPagesPerSession(o.getMaxPagesPerSession())
        .setReportingCurrency(o.getReportingCurrency())
        .setDashboardWindow(DurationOption.parse(o.getDashboardWindow()))
        .setDashboardFiring(DurationOption.parse(o.getDashboardFiring()))
        .build();
  }

  /** Helpers of the interface's static methods. */
  final class Internal {
    static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
    private static final ObjectMapper OPTIONS_JSON =
        new ObjectMapper()
            .registerModules(ObjectMapper.findModules(ReflectHelpers.findClassLoader()));

    private Internal() {}

    /**
     * True on the FlinkRunner with {@code --fasterCopy=true}, checkpoints and the heap state
     * backend: then a state object the job changes in place is the object a running checkpoint
     * writes. These are the runner's options, which this module does not compile against: they are
     * read from the JSON form in which Beam ships options to the workers.
     */
    static boolean sharesStateWithCheckpoints(PipelineOptions options) {
      JsonNode set = OPTIONS_JSON.valueToTree(options).path("options");
      boolean fasterCopy = set.path("fasterCopy").asBoolean(false);
      boolean checkpoints = set.path("checkpointingInterval").asLong(-1) > 0;
      boolean rocksdb = "rocksdb".equalsIgnoreCase(set.path("stateBackend").asText(""));
      return fasterCopy && checkpoints && !rocksdb;
    }
  }
}
