package org.flowscale.engine.toy;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Reads and validates factory settings; every message names the key. */
final class Settings {
  private Settings() {}

  /** Refuses keys outside {@code allowed}. */
  static void checkKeys(Map<String, Object> settings, Set<String> allowed, String owner) {
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
  static long integer(Map<String, Object> settings, String key, long fallback, long min, long max) {
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
  static double number(
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

  private static String describe(Object v) {
    return v instanceof String s
        ? "'" + s + "' (a string)"
        : v + " (" + v.getClass().getSimpleName() + ")";
  }
}
