package org.flowscale.api;

import java.util.List;

/**
 * A config or request that cannot run: an unknown key, a value out of range, a budget that does not
 * fit, a model or reward that refuses its settings or the prompt. Nothing ran and nothing was
 * written. The message names every problem (one line for one problem).
 */
public final class ConfigurationException extends FlowscaleException {
  private final List<String> problems;

  public ConfigurationException(String message) {
    this(message, null);
  }

  public ConfigurationException(String message, Throwable cause) {
    this(message, List.of(message), cause);
  }

  ConfigurationException(String message, List<String> problems, Throwable cause) {
    super(message, cause, null);
    this.problems = List.copyOf(problems);
  }

  /** Each problem found, one line each. */
  public List<String> problems() {
    return problems;
  }
}
