package org.flowscale.engine.model;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads and validates the settings a {@link ModelFactory} or {@link RewardFactory} receives; every
 * message names the key, so a bad config line is found at once.
 */
public final class FactorySettings {
  private FactorySettings() {}

  /** Refuses keys outside {@code allowed}. */
  public static void checkKeys(Map<String, Object> settings, Set<String> allowed, String owner) {
    if (settings == null) {
      return;
    }
    for (String key : settings.keySet()) {
      if (!allowed.contains(key)) {
        throw new IllegalArgumentException(
            "unknown setting '"
                + key
                + "' for "
                + owner
                + ": accepted keys are "
                + (allowed.isEmpty() ? "none" : new TreeSet<>(allowed)));
      }
    }
  }

  /** An integer setting in [min, max], or {@code fallback} when absent. */
  public static long integer(
      Map<String, Object> settings, String key, long fallback, long min, long max) {
    Object v = settings == null ? null : settings.get(key);
    if (v == null) {
      return fallback;
    }
    long n;
    if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
      n = ((Number) v).longValue();
    } else if (v instanceof Number num
        && Double.isFinite(num.doubleValue())
        && num.doubleValue() == Math.rint(num.doubleValue())
        && Math.abs(num.doubleValue()) < 0x1p53) {
      n = (long) num.doubleValue();
    } else {
      throw new IllegalArgumentException(key + " must be an integer, got " + describe(v));
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(key + " must be in [" + min + ", " + max + "], got " + n);
    }
    return n;
  }

  /** A finite number in [min, max] ({@code > min} when {@code openMin}), or the fallback. */
  public static double number(
      Map<String, Object> settings,
      String key,
      double fallback,
      double min,
      boolean openMin,
      double max) {
    Object v = settings == null ? null : settings.get(key);
    if (v == null) {
      return fallback;
    }
    if (!(v instanceof Number num) || !Double.isFinite(num.doubleValue())) {
      throw new IllegalArgumentException(key + " must be a finite number, got " + describe(v));
    }
    double d = num.doubleValue();
    if (d < min || (openMin && d == min) || d > max) {
      throw new IllegalArgumentException(
          key + " must be in " + (openMin ? "(" : "[") + min + ", " + max + "], got " + d);
    }
    return d;
  }

  /** How a bad value is shown in a message: its text and its type. */
  public static String describe(Object v) {
    if (v == null) {
      return "nothing";
    }
    return v instanceof String s
        ? "'" + s + "' (a string)"
        : v + " (" + v.getClass().getSimpleName() + ")";
  }
}
