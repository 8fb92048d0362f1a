package org.flowscale.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One reward of a weighted sum ({@code rewards: [{score: NAME, weight: W, <its keys>}, ...]} in a
 * config, {@link Pipeline.Builder#rewards} in code).
 *
 * @param score the reward factory's name ({@code remote}, {@code counting}, ...)
 * @param weight its weight in the sum (finite; negative penalises)
 * @param settings the factory's own keys (values as YAML reads them: String, Long, Double, Boolean,
 *     List)
 */
public record RewardTerm(String score, double weight, Map<String, Object> settings) {
  /**
   * Checks the term and copies its settings (whole numbers as Long).
   *
   * @throws IllegalArgumentException when {@code score} is blank or {@code weight} not finite
   */
  public RewardTerm {
    if (score == null || score.isBlank()) {
      throw new IllegalArgumentException("a reward term needs a score (a reward's name)");
    }
    if (!Double.isFinite(weight)) {
      throw new IllegalArgumentException(
          "the weight of reward '" + score + "' must be a finite number, got " + weight);
    }
    Map<String, Object> copy = new LinkedHashMap<>();
    if (settings != null) {
      settings.forEach((k, v) -> copy.put(k, v instanceof Integer i ? (Object) i.longValue() : v));
    }
    settings = Collections.unmodifiableMap(copy);
  }

  /**
   * {@return a term with default settings}
   *
   * @param score the reward factory's name
   * @param weight its weight in the sum
   */
  public static RewardTerm of(String score, double weight) {
    return new RewardTerm(score, weight, Map.of());
  }
}
