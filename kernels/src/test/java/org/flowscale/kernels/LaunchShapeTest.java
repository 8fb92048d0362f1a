package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The blocks of the row kernels (affine, gaussian, gather): runs without a GPU. */
class LaunchShapeTest {
  @Test
  void blocksAreAsWideAsTheRowUpTo256Threads() {
    assertArrayEquals(new int[] {1, 256}, CudaParticleOps.rowsBlock(1));
    assertArrayEquals(new int[] {16, 16}, CudaParticleOps.rowsBlock(16)); // state 64
    assertArrayEquals(new int[] {32, 8}, CudaParticleOps.rowsBlock(17));
    assertArrayEquals(new int[] {256, 1}, CudaParticleOps.rowsBlock(1 << 16));
    for (int units = 1; units <= 4096; units++) {
      int[] b = CudaParticleOps.rowsBlock(units);
      String what = units + " units: block " + b[0] + " x " + b[1];
      assertEquals(256, b[0] * b[1], what);
      assertEquals(1, Integer.bitCount(b[0]), what);
      // Covers the row (or the block's width limit), and no lane of x is idle for good.
      assertTrue(b[0] >= Math.min(units, 256), what);
      assertTrue(b[0] == 1 || b[0] / 2 < units, what);
    }
  }
}
