package org.flowscale.engine.rng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.flowscale.engine.testing.BoxMullerEdges;
import org.junit.jupiter.api.Test;

/**
 * The float Box-Muller against the double reference {@link Philox#gaussian4}: the CPU backend's
 * draws are the reference's to float rounding. The CUDA kernel evaluates the same float sequence
 * ({@code HostMathTest} holds it to these bits).
 */
class BoxMullerF32Test {
  /** The reference's pair for words (a, b), in double. */
  private static double[] reference(int a, int b) {
    double radius = Math.sqrt(-2.0 * Math.log(Philox.toUnitOpen(a)));
    double angle = 2.0 * Math.PI * Philox.toUnitOpen(b);
    return new double[] {radius * Math.cos(angle), radius * Math.sin(angle), radius};
  }

  /** Largest error of either normal relative to the pair's radius. */
  private static double error(int a, int b) {
    float[] got = new float[2];
    BoxMullerF32.pair(a, b, got, 0);
    double[] ref = reference(a, b);
    double r = Math.max(ref[2], 1e-3);
    return Math.max(Math.abs(got[0] - ref[0]), Math.abs(got[1] - ref[1])) / r;
  }

  @Test
  void randomWordsAgreeWithTheDoubleReferenceToFloatRounding() {
    SplittableRandom rnd = new SplittableRandom(11);
    double worst = 0;
    for (int i = 0; i < 2_000_000; i++) {
      worst = Math.max(worst, error(rnd.nextInt(), rnd.nextInt()));
    }
    assertTrue(worst < BoxMullerF32.MAX_ERROR, "worst error / radius: " + worst);
    System.out.println("BoxMullerF32Test: worst error / radius over 2e6 random pairs = " + worst);
  }

  /**
   * Words at the edges of every reduction: u near 0, 1/2 and 1 (the radius's three forms and the
   * split at 1 - sqrt(1/2)), and angles at and around every quadrant boundary and the wrap at 2 pi.
   */
  @Test
  void edgeWordsAgreeWithTheDoubleReference() {
    int[] radial = BoxMullerEdges.radial();
    int[] angular = BoxMullerEdges.angular();
    double worst = 0;
    for (int a : radial) {
      for (int b : angular) {
        worst = Math.max(worst, error(a, b));
      }
    }
    assertTrue(worst < BoxMullerF32.MAX_ERROR, "worst error / radius at the edges: " + worst);
  }

  @Test
  void gaussian4F32IsThePairsOfThePhiloxBlock() {
    long seed = 0x1234_5678_9abc_def0L;
    long stream = 0x0fed_cba9_8765_4321L;
    int[] w = new int[4];
    Philox.block(1000, 17, (int) stream, (int) (stream >>> 32), (int) seed, (int) (seed >>> 32), w);
    float[] expected = new float[4];
    BoxMullerF32.pair(w[0], w[1], expected, 0);
    BoxMullerF32.pair(w[2], w[3], expected, 2);
    float[] got = new float[6];
    Philox.gaussian4F32(seed, stream, 17, 1000, new int[4], got, 2);
    for (int e = 0; e < 4; e++) {
      assertEquals(Float.floatToRawIntBits(expected[e]), Float.floatToRawIntBits(got[2 + e]));
    }
    assertEquals(0f, got[0]);
    assertEquals(0f, got[1]);
  }
}
