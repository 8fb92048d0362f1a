package org.flowscale.engine.math;

import java.util.Locale;

/**
 * The sampling time grid (MATH.md section 5): {@code S} query times {@code tq = 1, 1 - 1/S, ...,
 * 1/S} then 0, mapped to sampling times by the schedule.
 */
public enum TimeSchedule {
  /** {@code t = tq}. */
  LINEAR,
  /**
   * {@code t = sqrt(1 - (1 - tq)^2)}, the paper's choice. In {@code t} this gives fine steps near
   * {@code t = 1} and a large last step (S = 10: 1, 0.995, 0.980, ..., 0.600, 0.436, 0); in log-SNR
   * the early steps are the large ones. MATH.md describes it as "large early steps, fine late
   * steps"; the engine implements the formula.
   */
  EXP;

  /** {@code steps + 1} sampling times in [0, 1], from 1 down to 0. */
  public double[] grid(int steps) {
    Checks.positive("max_steps", steps);
    double[] t = new double[steps + 1];
    for (int i = 0; i < steps; i++) {
      double tq = 1.0 - (double) i / steps;
      t[i] =
          switch (this) {
            case LINEAR -> tq;
            case EXP -> Math.sqrt(1 - (1 - tq) * (1 - tq));
          };
    }
    t[steps] = 0;
    return t;
  }

  /** The config name. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a config name. */
  public static TimeSchedule byName(String name) {
    for (TimeSchedule s : values()) {
      if (s.configName().equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown time_schedule '" + name + "': expected one of linear, exp");
  }

  /**
   * FLUX.1-dev's resolution-dependent shift of a sigma (time) in [0, 1]: {@code e^mu / (e^mu +
   * 1/sigma - 1)} with {@code mu = m L + b} for {@code L} image tokens.
   */
  public static double fluxShift(double sigma, int imageTokens) {
    Checks.time("sigma", sigma);
    Checks.positive("imageTokens", imageTokens);
    if (sigma == 0) {
      return 0;
    }
    double m = (1.15 - 0.5) / (4096 - 256);
    double b = 0.5 - 256 * m;
    double emu = Math.exp(m * imageTokens + b);
    // (1 / sigma - 1) first: at sigma = 1 it is exactly 0, so the shift keeps t = 1 exactly
    // ((emu + 1) - 1 can round to a value below emu, and t = 1.0000000000000002 is no time).
    return emu / (emu + (1 / sigma - 1));
  }

  /** Applies {@link #fluxShift} to every time of a grid, in place; returns it. */
  public static double[] fluxShift(double[] grid, int imageTokens) {
    for (int i = 0; i < grid.length; i++) {
      grid[i] = fluxShift(grid[i], imageTokens);
    }
    return grid;
  }
}
