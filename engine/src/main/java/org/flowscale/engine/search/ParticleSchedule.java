package org.flowscale.engine.search;

import java.util.Arrays;
import java.util.Locale;

/**
 * How many particles a chain has at each step ({@code particle_schedule}, MATH.md section 6b): the
 * same {@code n_particles} at every step, or a count that shrinks linearly over the steps so that a
 * chain's counts add up to exactly its share of the budget. Used by SVDD and SMC.
 */
public enum ParticleSchedule {
  /** {@code n_particles} (SVDD) or {@code batch_size} (SMC) particles at every step. */
  CONSTANT,
  /** Counts {@code n_i = n_0 - i d} plus a remainder on the earliest steps, adding up to M. */
  LINEAR;

  /** The config name: {@code constant}, {@code linear}. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a config name; the error lists the accepted names. */
  public static ParticleSchedule byName(String name) {
    for (ParticleSchedule s : values()) {
      if (s.configName().equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown particle_schedule '" + name + "': expected constant or linear");
  }

  /**
   * The linear schedule of MATH.md section 6b: {@code S} counts, each at least 1, non-increasing,
   * adding up to exactly {@code M}. With {@code d = floor(2 (M - S) / (S (S - 1)))} and {@code n_0
   * = floor((M + d S (S - 1) / 2) / S)}, {@code n_i = n_0 - i d}; the remainder {@code M - sum n_i}
   * (less than S) adds one particle to each of the earliest steps. One step takes all M.
   *
   * @throws IllegalArgumentException unless {@code 1 <= S <= M}
   */
  public static int[] linear(long total, int steps) {
    if (steps < 1 || total < steps) {
      throw new IllegalArgumentException(
          "a linear particle schedule needs 1 <= steps <= total particles, got "
              + steps
              + " steps for "
              + total);
    }
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("too many particles for one chain: " + total);
    }
    int[] n = new int[steps];
    if (steps == 1) {
      n[0] = (int) total;
      return n;
    }
    long s = steps;
    long pairs = s * (s - 1) / 2;
    long d = (total - s) / pairs;
    long n0 = (total + d * pairs) / s;
    long sum = 0;
    for (int i = 0; i < steps; i++) {
      n[i] = (int) (n0 - i * d);
      sum += n[i];
    }
    long left = total - sum;
    for (int i = 0; i < left; i++) {
      n[i]++;
    }
    return n;
  }

  /**
   * This schedule's counts for one chain over {@code steps} steps: {@code constant} copies of the
   * constant count, or the linear schedule for {@code total}.
   */
  public int[] counts(int constant, long total, int steps) {
    if (this == LINEAR) {
      return linear(total, steps);
    }
    int[] n = new int[steps];
    Arrays.fill(n, constant);
    return n;
  }
}
