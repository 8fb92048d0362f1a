package org.flowscale.engine.rng;

/**
 * The CPU backend's Gaussian draws in bulk: the normals of consecutive Philox blocks of one
 * particle and stream, evaluated in float ({@link BoxMullerF32}). Vectorised when {@link
 * Simd#enabled()}, scalar otherwise; the two give the same bits.
 */
public final class Normals {
  private Normals() {}

  /**
   * {@code out[at + 4 i + e]} = normal {@code e} of Philox block {@code firstBlock + i} of {@code
   * particle} in {@code stream}, for {@code i < blocks}: element {@code 4 (firstBlock + i) + e} of
   * the particle's draws, as {@link Philox#gaussian4F32}.
   */
  public static void fill(
      long seed, long stream, int particle, int firstBlock, int blocks, float[] out, int at) {
    if (Simd.enabled()) {
      VectorNormals.fill(seed, stream, particle, firstBlock, blocks, out, at);
    } else {
      fillScalar(seed, stream, particle, firstBlock, blocks, out, at);
    }
  }

  /**
   * The vectorised form of {@link #fill}, whatever {@link Simd#enabled()} says (same bits).
   *
   * @throws IllegalStateException unless {@link Simd#available()}
   */
  public static void fillVector(
      long seed, long stream, int particle, int firstBlock, int blocks, float[] out, int at) {
    if (!Simd.available()) {
      throw new IllegalStateException("vectorised loops unavailable: " + Simd.describe());
    }
    VectorNormals.fill(seed, stream, particle, firstBlock, blocks, out, at);
  }

  /** The scalar form of {@link #fill}, whatever {@link Simd} says (same bits). */
  public static void fillScalar(
      long seed, long stream, int particle, int firstBlock, int blocks, float[] out, int at) {
    int[] words = new int[4];
    for (int i = 0; i < blocks; i++) {
      Philox.gaussian4F32(seed, stream, particle, firstBlock + i, words, out, at + 4 * i);
    }
  }
}
