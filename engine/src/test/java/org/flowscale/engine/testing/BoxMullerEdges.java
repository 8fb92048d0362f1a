package org.flowscale.engine.testing;

/**
 * Philox words at the edges of every reduction of the float Box-Muller transform ({@code
 * BoxMullerF32}): the CPU test checks them against a double reference, the kernel's host build
 * checks them bit for bit against the CPU, so both walk the same edges.
 */
public final class BoxMullerEdges {
  private BoxMullerEdges() {}

  /**
   * First words (the radius): u near 0, 1/2 and 1, the radius's three forms and the split at 1 -
   * sqrt(1/2).
   */
  public static int[] radial() {
    return new int[] {
      0,
      1,
      2,
      255,
      256,
      257,
      0x00FFFFFF,
      0x01000000,
      0x01000001,
      0x3FFFFFFF,
      0x4AFB0CCC,
      0x4AFB0CCD,
      0x7FFFFFFE,
      0x7FFFFFFF,
      0x80000000,
      0x80000001,
      0xB504F332,
      0xB504F333,
      0xB504F334,
      0xFEFFFFFF,
      0xFF000000,
      0xFFFFFEFF,
      0xFFFFFF00,
      0xFFFFFFFE,
      0xFFFFFFFF
    };
  }

  /**
   * Second words (the angle): two words either side of every quadrant boundary and of the wrap at 2
   * pi (the last five repeat the first five modulo 2^32).
   */
  public static int[] angular() {
    int[] out = new int[9 * 5];
    int n = 0;
    for (long edge = 0; edge <= 0x100000000L; edge += 0x20000000L) {
      for (int off = -2; off <= 2; off++) {
        out[n++] = (int) (edge + off);
      }
    }
    return out;
  }
}
