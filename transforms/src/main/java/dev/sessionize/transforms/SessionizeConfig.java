package dev.sessionize.transforms;

import com.google.auto.value.AutoValue;
import java.io.Serializable;
import org.joda.time.Duration;

/**
 * The event-time rules shared by every step, so that the lateness gate, the session windows and the
 * dashboard windows can never disagree. Defaults are the spec's.
 */
@AutoValue
public abstract class SessionizeConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A session ends after this much inactivity (event time). */
  public abstract Duration sessionGap();

  /** How long after the watermark passes a session's window late data is still accepted. */
  public abstract Duration allowedLateness();

  /** The source's bounded out-of-orderness; widens the dedup retention. */
  public abstract Duration maxOutOfOrderness();

  /**
   * Cap on a session's duration: a user who never pauses for a whole gap gets a new session every
   * this much event time (see {@link CappedSessions}).
   */
  public abstract Duration maxSessionDuration();

  /** Cap on {@code pages_visited}. */
  public abstract int maxPagesPerSession();

  /** Currency of the {@code revenue} column and the dashboard's revenue. */
  public abstract String reportingCurrency();

  /** Size of a dashboard window. */
  public abstract Duration dashboardWindow();

  /** Processing-time delay of the dashboard's early (and late) firings. */
  public abstract Duration dashboardFiring();

  /** How many pages the dashboard's {@code top_pages} lists. */
  public abstract int dashboardTopPages();

  /** Processing time, for {@code emitted_at}, {@code updated_at} and {@code rejected_at}. */
  public abstract Clock clock();

  /** Gap + allowed lateness: an event this far behind the watermark is TOO_LATE. */
  public Duration lateness() {
    return sessionGap().plus(allowedLateness());
  }

  /** How long an event id is remembered for deduplication. */
  public Duration dedupRetention() {
    return sessionGap().plus(allowedLateness()).plus(maxOutOfOrderness());
  }

  public abstract Builder toBuilder();

  public static SessionizeConfig defaults() {
    return new AutoValue_SessionizeConfig.Builder()
        .setSessionGap(Duration.standardMinutes(30))
        .setAllowedLateness(Duration.standardMinutes(5))
        .setMaxOutOfOrderness(Duration.standardMinutes(5))
        .setMaxSessionDuration(Duration.standardHours(24))
        .setMaxPagesPerSession(200)
        .setReportingCurrency("USD")
        .setDashboardWindow(Duration.standardMinutes(1))
        .setDashboardFiring(Duration.standardSeconds(1))
        .setDashboardTopPages(10)
        .setClock(Clock.system())
        .build();
  }

  /** Builder for {@link SessionizeConfig}. */
  @AutoValue.Builder
  public abstract static class Builder {
    public abstract Builder setSessionGap(Duration value);

    public abstract Builder setAllowedLateness(Duration value);

    public abstract Builder setMaxOutOfOrderness(Duration value);

    public abstract Builder setMaxSessionDuration(Duration value);

    public abstract Builder setMaxPagesPerSession(int value);

    public abstract Builder setReportingCurrency(String value);

    public abstract Builder setDashboardWindow(Duration value);

    public abstract Builder setDashboardFiring(Duration value);

    public abstract Builder setDashboardTopPages(int value);

    public abstract Builder setClock(Clock value);

    public abstract SessionizeConfig build();
  }
}
