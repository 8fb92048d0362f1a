package org.flowscale.engine.search;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The search methods of MATH.md section 6, by their config name ({@code filtering_method}). */
public enum FilteringMethod {
  BON,
  SMC,
  CODE,
  SVDD,
  RBF,
  SOP,
  DPS,
  SVDD_DPS,
  RBF_DPS;

  /** The config name: {@code bon}, {@code svdd_dps}, ... */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Whether the method nudges states along a reward gradient (needs differentiable reward). */
  public boolean usesGradient() {
    return this == DPS || this == SVDD_DPS || this == RBF_DPS;
  }

  /**
   * Whether {@code time_shift} shifts this method's grid. The reference implementation shifts the
   * grid of the methods that walk it step by step (its step-mode time sampler) and never RBF's,
   * whose times it queries directly; the engine does the same. Search over Paths has its own times
   * ({@code ode_seed_t}, {@code forward_step}, {@code backward_step}), unshifted as in the
   * reference's ODE solver.
   */
  public boolean shiftsTime() {
    return this != RBF && this != RBF_DPS && this != SOP;
  }

  /** Parses a config name; the error lists the accepted names. */
  public static FilteringMethod byName(String name) {
    for (FilteringMethod m : values()) {
      if (m.configName().equals(name)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "unknown filtering_method '" + name + "': expected one of " + names());
  }

  /** Every config name, comma separated. */
  public static String names() {
    return Arrays.stream(values())
        .map(FilteringMethod::configName)
        .collect(Collectors.joining(", "));
  }
}
