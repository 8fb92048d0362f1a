package org.flowscale.engine.rng;

/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), a
 * counter-based generator: every draw is a pure function of (key, counter), so a draw is addressed
 * rather than sequenced. That makes runs reproducible bit for bit whatever the batch order or
 * thread count, and lets a CUDA kernel produce the very same draws.
 *
 * <p>Addressing used by the engine (the CUDA kernels use the same):
 *
 * <ul>
 *   <li>key = (seed low word, seed high word);
 *   <li>Gaussian element {@code e} of particle {@code p} in stream {@code s}: counter = ({@code e /
 *       4}, {@code p}, stream low word, stream high word); the four output words make two
 *       Box-Muller pairs, and element {@code e} takes normal number {@code e % 4};
 *   <li>uniform {@code i} of stream {@code s}: counter = ({@code i / 4}, {@code 0xffffffff}, stream
 *       low, stream high), word {@code i % 4}. Particle ids are non-negative ints, so the two never
 *       share a counter.
 * </ul>
 */
public final class Philox {
  static final int M0 = 0xD2511F53;
  static final int M1 = 0xCD9E8D57;
  static final int W0 = 0x9E3779B9;
  static final int W1 = 0xBB67AE85;

  /** The counter word that marks uniform draws (never a particle id). */
  public static final int UNIFORM_TAG = 0xFFFFFFFF;

  private static final double TWO_POW_M32 = 0x1p-32;

  private Philox() {}

  /**
   * Philox4x32-10 of a 4-word counter and a 2-word key; writes 4 words into {@code out}.
   * Allocation-free for hot loops.
   */
  public static void block(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
    for (int round = 0; round < 10; round++) {
      if (round > 0) {
        k0 += W0;
        k1 += W1;
      }
      long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
      long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
      int hi0 = (int) (p0 >>> 32);
      int lo0 = (int) p0;
      int hi1 = (int) (p1 >>> 32);
      int lo1 = (int) p1;
      c0 = hi1 ^ c1 ^ k0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ k1;
      c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
  }

  /** Convenience form of {@link #block} returning a new array. */
  public static int[] block(int[] counter, int[] key) {
    int[] out = new int[4];
    block(counter[0], counter[1], counter[2], counter[3], key[0], key[1], out);
    return out;
  }

  /** A uniform in (0, 1) from one 32-bit word: {@code (w + 0.5) 2^-32}. Never 0, never 1. */
  public static double toUnitOpen(int w) {
    return ((w & 0xFFFFFFFFL) + 0.5) * TWO_POW_M32;
  }

  /**
   * Four standard normal numbers for counter block {@code (block, particle, stream)}: Box-Muller on
   * words (0, 1) gives normals 0 and 1, on words (2, 3) normals 2 and 3. {@code scratch} must hold
   * 4 ints; {@code out} receives 4 doubles.
   */
  public static void gaussian4(
      long seed, long stream, int particle, int block, int[] scratch, double[] out) {
    draw(seed, stream, particle, block, scratch);
    boxMuller(scratch[0], scratch[1], out, 0);
    boxMuller(scratch[2], scratch[3], out, 2);
  }

  /**
   * The same four normals as {@link #gaussian4}, evaluated in float by {@link BoxMullerF32} (the
   * CPU backend's draws): {@code out[at .. at + 3]}. {@code scratch} must hold 4 ints.
   */
  public static void gaussian4F32(
      long seed, long stream, int particle, int block, int[] scratch, float[] out, int at) {
    draw(seed, stream, particle, block, scratch);
    BoxMullerF32.pair(scratch[0], scratch[1], out, at);
    BoxMullerF32.pair(scratch[2], scratch[3], out, at + 2);
  }

  /**
   * The four words of counter block {@code (block, particle, stream)} under key {@code seed}
   * ({@code particle} is {@link #UNIFORM_TAG} for the uniforms).
   */
  private static void draw(long seed, long stream, int particle, int block, int[] scratch) {
    block(
        block,
        particle,
        (int) stream,
        (int) (stream >>> 32),
        (int) seed,
        (int) (seed >>> 32),
        scratch);
  }

  private static void boxMuller(int a, int b, double[] out, int at) {
    double radius = Math.sqrt(-2.0 * Math.log(toUnitOpen(a)));
    double angle = 2.0 * Math.PI * toUnitOpen(b);
    out[at] = radius * Math.cos(angle);
    out[at + 1] = radius * Math.sin(angle);
  }

  /** One normal number: element {@code element} of particle {@code particle} in {@code stream}. */
  public static double gaussian(long seed, long stream, int particle, long element) {
    if (particle < 0) {
      throw new IllegalArgumentException("particle id must be >= 0, got " + particle);
    }
    if (element < 0 || element / 4 > 0xFFFFFFFFL) {
      throw new IllegalArgumentException("element index out of range: " + element);
    }
    int[] scratch = new int[4];
    double[] out = new double[4];
    gaussian4(seed, stream, particle, (int) (element / 4), scratch, out);
    return out[(int) (element % 4)];
  }

  /** Uniform number {@code index} in (0, 1) of {@code stream}. */
  public static double uniform(long seed, long stream, long index) {
    if (index < 0 || index / 4 > 0xFFFFFFFFL) {
      throw new IllegalArgumentException("uniform index out of range: " + index);
    }
    int[] w = new int[4];
    draw(seed, stream, UNIFORM_TAG, (int) (index / 4), w);
    return toUnitOpen(w[(int) (index % 4)]);
  }
}
