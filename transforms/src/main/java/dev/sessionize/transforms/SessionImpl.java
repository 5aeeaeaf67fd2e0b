package dev.sessionize.transforms;

/** The two implementations of the sessions step ({@code --sessionImpl}). */
public enum SessionImpl {
  /**
   * {@link StatefulSessions}: one stateful step per user (lateness check, dedup, sessions,
   * versions) with one state value and one timer. The default.
   */
  STATE,
  /**
   * {@link DedupEvents} then {@link Sessionize}: Beam's session windows with allowed lateness and
   * accumulating panes, the reference semantics, runnable on every runner.
   */
  WINDOWS
}
