package org.flowscale.engine.math;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The shape {@code c(r)} of the SDE's diffusion {@code g(r) = norm c(r)} (MATH.md section 4). */
public enum DiffusionCoefficient {
  SIGMA,
  CONSTANT,
  SIN,
  LINEAR,
  SQUARE,
  CLIPPING,
  EXP,
  TAN;

  /** The default width of {@link #EXP}, as in the reference implementation. */
  public static final double DEFAULT_EXP_SIGMA = 0.1;

  /**
   * {@code c(r)}; {@code sigma} is the sampling interpolant's sigma at r, {@code expSigma} the
   * width used by {@link #EXP}.
   */
  public double value(double r, double sigma, double expSigma) {
    Checks.time("r", r);
    return switch (this) {
      case SIGMA -> sigma;
      case CONSTANT -> 1.0;
      case SIN -> Math.sin(Math.PI * r / 2);
      case LINEAR -> r;
      case SQUARE -> r * r;
      case CLIPPING -> Math.max(0.0, 2 * (r - 0.5));
      case EXP -> {
        double z = (r - 1) / Checks.positive("expSigma", expSigma);
        yield Math.exp(-z * z);
      }
      case TAN -> Math.tan(Math.PI / 2 * Math.min(r, 0.95));
    };
  }

  /** The config name. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a config name; the error lists the accepted names. */
  public static DiffusionCoefficient byName(String name) {
    for (DiffusionCoefficient d : values()) {
      if (d.configName().equals(name)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "unknown diffusion_coefficient '"
            + name
            + "': expected one of "
            + Arrays.stream(values())
                .map(DiffusionCoefficient::configName)
                .collect(Collectors.joining(", ")));
  }
}
