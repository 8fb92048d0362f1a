package org.flowscale.engine.rng;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PhiloxTest {

  private static int[] words(long... w) {
    int[] out = new int[w.length];
    for (int i = 0; i < w.length; i++) {
      out[i] = (int) w[i];
    }
    return out;
  }

  /** Random123's published known answers for Philox4x32-10 (MATH.md section 10). */
  @Test
  void random123KnownAnswers() {
    assertArrayEquals(
        words(0x6627e8d5L, 0xe169c58dL, 0xbc57ac4cL, 0x9b00dbd8L),
        Philox.block(words(0, 0, 0, 0), words(0, 0)));
    assertArrayEquals(
        words(0x408f276dL, 0x41c83b0eL, 0xa20bc7c6L, 0x6d5451fdL),
        Philox.block(
            words(0xffffffffL, 0xffffffffL, 0xffffffffL, 0xffffffffL),
            words(0xffffffffL, 0xffffffffL)));
    assertArrayEquals(
        words(0xd16cfe09L, 0x94fdccebL, 0x5001e420L, 0x24126ea1L),
        Philox.block(
            words(0x243f6a88L, 0x85a308d3L, 0x13198a2eL, 0x03707344L),
            words(0xa4093822L, 0x299f31d0L)));
  }

  @Test
  void gaussianIsBoxMullerOfTheAddressedBlock() {
    long seed = 0x1234_5678_9abc_def0L;
    long stream = 0x0fed_cba9_8765_4321L;
    int particle = 17;
    long element = 4L * 1000 + 2; // block 1000, normal 2: words 2 and 3
    int[] w =
        Philox.block(
            words(1000, particle, (int) stream, (int) (stream >>> 32)),
            words((int) seed, (int) (seed >>> 32)));
    double u1 = ((w[2] & 0xFFFFFFFFL) + 0.5) / 4294967296.0;
    double u2 = ((w[3] & 0xFFFFFFFFL) + 0.5) / 4294967296.0;
    double expected = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    assertEquals(expected, Philox.gaussian(seed, stream, particle, element), 0);
    double expectedSin = Math.sqrt(-2 * Math.log(u1)) * Math.sin(2 * Math.PI * u2);
    assertEquals(expectedSin, Philox.gaussian(seed, stream, particle, element + 1), 0);
  }

  @Test
  void uniformIsTheTaggedWordInTheOpenInterval() {
    long seed = 42;
    long stream = 7;
    int[] w = Philox.block(words(2, 0xFFFFFFFFL, 7, 0), words(42, 0));
    assertEquals(((w[1] & 0xFFFFFFFFL) + 0.5) / 4294967296.0, Philox.uniform(seed, stream, 9), 0);
    assertTrue(Philox.toUnitOpen(0) > 0);
    assertTrue(Philox.toUnitOpen(-1) < 1);
  }

  @Test
  void everyAddressComponentChangesTheDraw() {
    double base = Philox.gaussian(1, 2, 3, 4);
    assertNotEquals(base, Philox.gaussian(9, 2, 3, 4));
    assertNotEquals(base, Philox.gaussian(1L | (1L << 40), 2, 3, 4), "high seed word");
    assertNotEquals(base, Philox.gaussian(1, 9, 3, 4));
    assertNotEquals(base, Philox.gaussian(1, 2L | (1L << 40), 3, 4), "high stream word");
    assertNotEquals(base, Philox.gaussian(1, 2, 9, 4));
    assertNotEquals(base, Philox.gaussian(1, 2, 3, 8));
    assertEquals(base, Philox.gaussian(1, 2, 3, 4), "a pure function of its address");
  }

  /**
   * Moments of 2^21 draws against N(0, 1). Standard errors for n samples: mean 1/sqrt(n), variance
   * sqrt(2/n), skewness sqrt(6/n), excess kurtosis sqrt(24/n); each must lie within 5 standard
   * errors (a false alarm about once in 1.7 million; the draws are fixed, so it is reproducible).
   */
  @Test
  void gaussianMoments() {
    int n = 1 << 21;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    double s4 = 0;
    int[] scratch = new int[4];
    double[] z = new double[4];
    int particles = 64;
    int perParticle = n / particles;
    for (int p = 0; p < particles; p++) {
      for (int b = 0; b < perParticle / 4; b++) {
        Philox.gaussian4(2024, 5, p, b, scratch, z);
        for (double x : z) {
          double x2 = x * x;
          s1 += x;
          s2 += x2;
          s3 += x2 * x;
          s4 += x2 * x2;
        }
      }
    }
    double mean = s1 / n;
    double var = s2 / n - mean * mean;
    double skew = s3 / n;
    double kurt = s4 / n - 3;
    assertEquals(0, mean, 5 / Math.sqrt(n), "mean");
    assertEquals(1, var, 5 * Math.sqrt(2.0 / n), "variance");
    assertEquals(0, skew, 5 * Math.sqrt(6.0 / n), "skewness");
    assertEquals(0, kurt, 5 * Math.sqrt(24.0 / n), "excess kurtosis");
  }

  /** Tail frequencies, which the moments see only weakly: P(|z| > 3) = 0.0026998. */
  @Test
  void gaussianTails() {
    int n = 1 << 20;
    int beyond3 = 0;
    for (int e = 0; e < n; e++) {
      if (Math.abs(Philox.gaussian(77, 1, e & 63, e >>> 6)) > 3) {
        beyond3++;
      }
    }
    double p = 0.0026997960632601866;
    assertEquals(n * p, beyond3, 5 * Math.sqrt(n * p * (1 - p)));
  }

  @Test
  void refusesOutOfRangeAddresses() {
    var e = assertThrows(IllegalArgumentException.class, () -> Philox.gaussian(1, 1, -1, 0));
    assertTrue(e.getMessage().contains("particle"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Philox.gaussian(1, 1, 0, -1));
    assertTrue(e.getMessage().contains("element"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Philox.uniform(1, 1, -1));
    assertTrue(e.getMessage().contains("uniform index"), e.getMessage());
  }
}
