package dev.sessionize.pipeline;

import static dev.sessionize.pipeline.options.OptionChecks.ONE_DAY;

import dev.sessionize.pipeline.options.DurationOption;
import dev.sessionize.pipeline.options.OptionChecks;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.joda.time.Duration;

/** The event-time rules: when a session ends, how late an event may be, the dashboard's windows. */
public interface EventTimeOptions extends PipelineOptions {
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

  @Description("Events further ahead of processing time than this are FUTURE_TIMESTAMP.")
  @Default.String("5m")
  String getMaxFutureSkew();

  void setMaxFutureSkew(String value);

  @Description(
      "Cap on a session's duration (event time): a user who never pauses for a whole gap, e.g. a"
          + " bot, gets a new session every this long. At least sessionGap + allowedLateness +"
          + " maxOutOfOrderness, at most 30d.")
  @Default.String("24h")
  String getMaxSessionDuration();

  void setMaxSessionDuration(String value);

  @Description("Size of a dashboard window.")
  @Default.String("1m")
  String getDashboardWindow();

  void setDashboardWindow(String value);

  @Description("Processing-time delay between dashboard firings while a minute is open.")
  @Default.String("1s")
  String getDashboardFiring();

  void setDashboardFiring(String value);

  /** One line per bad duration, naming it and its allowed range. */
  static List<String> validate(EventTimeOptions o) {
    List<String> problems = new ArrayList<>();
    OptionChecks.duration(problems, "sessionGap", o.getSessionGap(), Duration.millis(1), ONE_DAY);
    OptionChecks.duration(
        problems, "allowedLateness", o.getAllowedLateness(), Duration.ZERO, ONE_DAY);
    OptionChecks.duration(
        problems, "maxOutOfOrderness", o.getMaxOutOfOrderness(), Duration.ZERO, ONE_DAY);
    maxSessionDuration(problems, o);
    OptionChecks.duration(problems, "maxFutureSkew", o.getMaxFutureSkew(), Duration.ZERO, ONE_DAY);
    OptionChecks.duration(
        problems, "dashboardWindow", o.getDashboardWindow(), Duration.standardSeconds(1), ONE_DAY);
    OptionChecks.duration(
        problems,
        "dashboardFiring",
        o.getDashboardFiring(),
        Duration.millis(1),
        Duration.standardHours(1));
    return problems;
  }

  /**
   * A session cut must come well after anything late data can still change: at least gap + allowed
   * lateness + out-of-orderness (40m by default), at most 30d.
   */
  private static void maxSessionDuration(List<String> problems, EventTimeOptions o) {
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
}
