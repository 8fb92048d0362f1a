package org.flowscale.engine.search;

import java.util.Locale;

/**
 * Which proposal RBF returns ({@code rbf_output}, MATH.md section 6 step 4).
 *
 * <p>The Tweedie estimate of a proposal scored early in the run (near {@code t = 1}) is a blurred
 * average of the data; one scored at the last step reached is sharp. {@link #LAST_STEP} is the
 * reference implementation's rule and the default; {@link #RUN_BEST} suits rewards that never
 * credit blurred estimates.
 */
public enum RbfOutput {
  /**
   * Each chain remembers the best proposal of the step it is on (forgotten whenever the chain
   * advances); the output is the best of these over chains, so it comes from the last step reached.
   */
  LAST_STEP,
  /** The highest-reward proposal of the whole run, whenever it was scored. */
  RUN_BEST;

  /** The config name: {@code last_step}, {@code run_best}. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a config name; the error lists the accepted names. */
  public static RbfOutput byName(String name) {
    for (RbfOutput o : values()) {
      if (o.configName().equals(name)) {
        return o;
      }
    }
    throw new IllegalArgumentException(
        "unknown rbf_output '" + name + "': expected last_step or run_best");
  }
}
