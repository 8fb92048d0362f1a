package org.flowscale.engine.math;

/** Argument checks shared by the math code; each message names the argument. */
public final class Checks {
  private Checks() {}

  /** A time in [0, 1]. */
  public static double time(String name, double t) {
    if (!Double.isFinite(t) || t < 0 || t > 1) {
      throw new IllegalArgumentException(name + " must be a finite time in [0, 1], got " + t);
    }
    return t;
  }

  /** A finite, strictly positive number. */
  public static double positive(String name, double v) {
    if (!Double.isFinite(v) || v <= 0) {
      throw new IllegalArgumentException(name + " must be finite and > 0, got " + v);
    }
    return v;
  }

  /** A finite, non-negative number. */
  public static double nonNegative(String name, double v) {
    if (!Double.isFinite(v) || v < 0) {
      throw new IllegalArgumentException(name + " must be finite and >= 0, got " + v);
    }
    return v;
  }

  /** A strictly positive count. */
  public static int positive(String name, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(name + " must be > 0, got " + v);
    }
    return v;
  }
}
