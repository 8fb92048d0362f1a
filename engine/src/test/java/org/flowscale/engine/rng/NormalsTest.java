package org.flowscale.engine.rng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorised draws are the scalar draws bit for bit. */
class NormalsTest {
  /**
   * The build runs tests with {@code --add-modules jdk.incubator.vector} (and {@code
   * -Dflowscale.simd=false}, so that other tests do not pay the vector code's warm-up): the vector
   * code must be available here, otherwise the comparisons would not test it.
   */
  @Test
  void theTestJvmCanRunTheVectorisedLoops() {
    assertTrue(Simd.available(), Simd.describe());
  }

  @Test
  void vectorisedFillIsTheScalarFillBitForBit() {
    SplittableRandom rnd = new SplittableRandom(5);
    int lanes = Simd.available() ? VectorNormals.LANES : 4;
    for (int trial = 0; trial < 400; trial++) {
      long seed = rnd.nextLong();
      long stream = trial % 3 == 0 ? rnd.nextInt(10) : rnd.nextLong();
      int particle = trial % 2 == 0 ? rnd.nextInt(64) : rnd.nextInt(Integer.MAX_VALUE);
      // Counters near the top of the word wrap around within one vector.
      int first = trial % 5 == 0 ? -1 - rnd.nextInt(3 * lanes) : rnd.nextInt(1 << 20);
      int blocks = rnd.nextInt(8 * lanes + 1);
      int at = rnd.nextInt(3);
      float[] scalar = new float[at + 4 * blocks + 2];
      float[] vector = new float[scalar.length];
      Arrays.fill(scalar, Float.NaN);
      Arrays.fill(vector, Float.NaN);
      Normals.fillScalar(seed, stream, particle, first, blocks, scalar, at);
      Normals.fillVector(seed, stream, particle, first, blocks, vector, at);
      for (int k = 0; k < scalar.length; k++) {
        assertEquals(
            Float.floatToRawIntBits(scalar[k]),
            Float.floatToRawIntBits(vector[k]),
            "trial " + trial + " element " + k + ": " + scalar[k] + " vs " + vector[k]);
      }
    }
  }

  @Test
  void fillIsGaussian4F32BlockByBlock() {
    float[] out = new float[4 * 37];
    Normals.fill(99, 3, 12, 500, 37, out, 0);
    float[] expected = new float[4];
    int[] scratch = new int[4];
    for (int i = 0; i < 37; i++) {
      Philox.gaussian4F32(99, 3, 12, 500 + i, scratch, expected, 0);
      for (int e = 0; e < 4; e++) {
        assertEquals(expected[e], out[4 * i + e], 0, "block " + i + " normal " + e);
      }
    }
  }
}
