package org.flowscale.api;

import java.util.Locale;

/** How a run ended (or that it has not yet), as {@code report.json}'s {@code status} says it. */
public enum RunStatus {
  /** Under way: the report was written at the start and the run has not ended (or died). */
  RUNNING,
  /** Spent its budget and returned its output. */
  COMPLETED,
  /** Stopped early on request (a cancellation or a deadline); the result is the best so far. */
  CANCELLED,
  /** Stopped early by a signal or a thread interrupt; the result is the best so far. */
  INTERRUPTED,
  /** Failed; the error says why, and the best sample so far is kept where there was one. */
  FAILED;

  /** {@return the lower-case name used in reports and JSON ({@code completed}, ...)} */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
