package org.flowscale.api;

import java.util.List;

/**
 * A config or request that cannot run: an unknown key, a value out of range, a budget that does not
 * fit, a model or reward that refuses its settings or the prompt. Nothing ran and nothing was
 * written. The message names every problem (one line for one problem).
 */
public final class ConfigurationException extends FlowscaleException {
  /** Every problem found, one line each. */
  private final List<String> problems;

  /**
   * A configuration error with one problem.
   *
   * @param message the problem, on one line
   */
  public ConfigurationException(String message) {
    this(message, null);
  }

  /**
   * A configuration error with one problem, caused by {@code cause}.
   *
   * @param message the problem, on one line
   * @param cause what refused the input (may be null)
   */
  public ConfigurationException(String message, Throwable cause) {
    this(message, List.of(message), cause);
  }

  ConfigurationException(String message, List<String> problems, Throwable cause) {
    super(message, cause, null);
    this.problems = List.copyOf(problems);
  }

  /** {@return every problem found, one line each (one entry when there was one problem)} */
  public List<String> problems() {
    return problems;
  }
}
