package org.flowscale.api;

import java.math.BigInteger;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One config key of the command line: its type, default and help. {@link #coerce} turns a value
 * read from YAML or an override into the key's Java type, or explains what is allowed.
 *
 * @param name the key, as in the reference implementation's configs
 * @param kind the value type
 * @param defaultValue the value when the config does not set it (already of the Java type)
 * @param nullable whether {@code null} is an accepted value
 * @param choices the accepted values of a {@link Kind#CHOICE}
 * @param help one line for {@code flowscale keys}
 */
record ConfigKey(
    String name,
    Kind kind,
    Object defaultValue,
    boolean nullable,
    List<String> choices,
    String help) {

  /** The value types of config keys. */
  enum Kind {
    INT,
    LONG,
    DOUBLE,
    BOOL,
    STRING,
    CHOICE,
    /** A list of mappings, each one reward of a weighted sum ({@code rewards}). */
    REWARDS
  }

  ConfigKey {
    choices = List.copyOf(choices);
    if (kind == Kind.CHOICE && choices.isEmpty()) {
      throw new IllegalArgumentException(name + ": a choice needs choices");
    }
  }

  static ConfigKey of(String name, Kind kind, Object defaultValue, String help) {
    return new ConfigKey(name, kind, defaultValue, false, List.of(), help);
  }

  static ConfigKey nullable(String name, Kind kind, Object defaultValue, String help) {
    return new ConfigKey(name, kind, defaultValue, true, List.of(), help);
  }

  static ConfigKey choice(
      String name, boolean nullable, String defaultValue, List<String> choices, String help) {
    return new ConfigKey(name, Kind.CHOICE, defaultValue, nullable, choices, help);
  }

  /** What the key accepts, in words. */
  String expected() {
    String base =
        switch (kind) {
          case INT -> "a whole number";
          case LONG -> "a whole number";
          case DOUBLE -> "a number";
          case BOOL -> "true or false";
          case STRING -> "text";
          case CHOICE -> "one of " + String.join(", ", choices);
          case REWARDS -> "a list of mappings such as {score: NAME, weight: 1.0, ...}";
        };
    return nullable ? base + " (or null)" : base;
  }

  /**
   * The value as this key's Java type: Integer, Long, Double, Boolean or String (or null); for
   * {@link Kind#REWARDS} a list of mappings from names to raw values (checked further by the
   * resolver, which knows the factories).
   *
   * @param raw the value from YAML (String, Long, BigInteger, Double, Boolean, List, Map or null)
   * @param rawText the override's text when the value came from the command line, else null; a text
   *     key takes it verbatim so that {@code tag=007} stays {@code 007}
   * @throws IllegalArgumentException naming the key, the value and what is allowed
   */
  Object coerce(Object raw, String rawText) {
    if (raw == null) {
      if (nullable) {
        return null;
      }
      throw bad(raw, "it must be set");
    }
    return switch (kind) {
      case INT -> {
        long v = wholeNumber(raw);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
          throw bad(raw, "it is out of range (at most " + Integer.MAX_VALUE + ")");
        }
        yield (int) v;
      }
      case LONG -> wholeNumber(raw);
      case DOUBLE -> {
        if (raw instanceof Long l) {
          yield l.doubleValue();
        }
        if (raw instanceof BigInteger b) {
          yield b.doubleValue();
        }
        if (raw instanceof Double d) {
          yield d;
        }
        throw bad(raw, null);
      }
      case BOOL -> {
        if (raw instanceof Boolean b) {
          yield b;
        }
        throw bad(raw, null);
      }
      case STRING -> {
        if (raw instanceof String s) {
          yield s;
        }
        if (isScalar(raw)) {
          yield rawText != null ? rawText.strip() : String.valueOf(raw);
        }
        throw bad(raw, null);
      }
      case CHOICE -> {
        if (!(raw instanceof String s)) {
          throw bad(raw, null);
        }
        String lower = s.strip().toLowerCase(Locale.ROOT);
        if (choices.contains(lower)) {
          yield lower;
        }
        String near = Suggest.nearest(lower, choices);
        throw bad(raw, near == null ? null : "did you mean '" + near + "'?");
      }
      case REWARDS -> rewards(raw);
    };
  }

  private List<Map<String, Object>> rewards(Object raw) {
    if (!(raw instanceof List<?> list)) {
      throw bad(raw, null);
    }
    if (list.isEmpty()) {
      throw bad(raw, "it needs at least one reward (or leave it out and set reward_score)");
    }
    List<Map<String, Object>> out = new java.util.ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      if (!(list.get(i) instanceof Map<?, ?> m)) {
        throw bad(raw, "entry " + (i + 1) + " is " + describeType(list.get(i)) + ", not a mapping");
      }
      Map<String, Object> entry = new java.util.LinkedHashMap<>();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!(e.getKey() instanceof String k) || k.isBlank()) {
          throw bad(raw, "entry " + (i + 1) + " has a key that is not a name: " + e.getKey());
        }
        entry.put(k, e.getValue());
      }
      out.add(java.util.Collections.unmodifiableMap(entry));
    }
    return List.copyOf(out);
  }

  private long wholeNumber(Object raw) {
    if (raw instanceof Long l) {
      return l;
    }
    if (raw instanceof BigInteger) {
      throw bad(raw, "it is out of range");
    }
    if (raw instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) {
      throw bad(raw, "write it without a decimal point: " + (long) (double) d);
    }
    throw bad(raw, null);
  }

  private IllegalArgumentException bad(Object raw, String why) {
    return new IllegalArgumentException(
        "bad value for "
            + name
            + ": got "
            + describeType(raw)
            + ", expected "
            + expected()
            + (why == null ? "" : "; " + why));
  }

  private static boolean isScalar(Object v) {
    return v instanceof String
        || v instanceof Long
        || v instanceof BigInteger
        || v instanceof Double
        || v instanceof Boolean;
  }

  /** A value and its type in words, for messages: {@code text 'abc'}, {@code the number 2.5}. */
  static String describeType(Object v) {
    return switch (v) {
      case null -> "null";
      case String s -> "text " + Text.quote(s);
      case Long l -> "the whole number " + l;
      case BigInteger b -> "the whole number " + Text.quote(b.toString());
      case Double d -> "the number " + d;
      case Boolean b -> b.toString();
      case List<?> l -> "a list of " + l.size();
      case Map<?, ?> m -> "a mapping (nested keys are not supported)";
      default -> "a value of YAML type " + v.getClass().getSimpleName();
    };
  }
}
