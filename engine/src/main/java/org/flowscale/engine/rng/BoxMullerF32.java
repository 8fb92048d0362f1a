package org.flowscale.engine.rng;

/**
 * The Box-Muller transform of {@link Philox#gaussian4} evaluated in float with branch-free
 * polynomials: the draws of the CPU backend. Same words, same pairing, same {@code u = (w + 0.5)
 * 2^-32}, same {@code radius = sqrt(-2 ln u1)} and {@code angle = 2 pi u2} as the double reference;
 * only the evaluation differs. Measured against the double reference: within {@link #MAX_ERROR} of
 * the pair's radius ({@code BoxMullerF32Test}). The CUDA kernel ({@code box_muller} in {@code
 * particle_ops.cu}) evaluates this very sequence, with the same constants and without FMA
 * contraction, so GPU and CPU draws are the same bits ({@code HostMathTest}, and {@code
 * CudaParticleOpsTest} on a GPU or the emulated driver): a change here must be made there too.
 *
 * <p>Why this form: every step is a plain float add, multiply, int-to-float conversion, square root
 * or bit operation, with no branches, so {@link VectorNormals} evaluates the very same sequence 16
 * lanes at a time (jdk.incubator.vector) and gets the same bits as this scalar code on any machine.
 * The double {@code Math.log/sin/cos} of the reference cost ~15 ns per normal and do not vectorise.
 *
 * <ul>
 *   <li>{@code -2 ln u}: the word {@code a} gives {@code w = a ^ (a >> 31)}, which is {@code a} for
 *       {@code u < 1/2} and {@code ~a} for {@code u >= 1/2}; {@code v = (w + 0.5) 2^-32} is formed
 *       with one rounding. Then {@code ln u} for the lower half and {@code ln(1 - v) = ln u} for
 *       the upper half (so {@code 1 - u} is never rounded where the radius is small) are both
 *       written {@code e ln 2 + log1p(f)} with {@code f} in {@code [sqrt(1/2) - 1, sqrt(2) - 1]},
 *       and {@code log1p} is Cephes' {@code logf} polynomial.
 *   <li>{@code 2 pi u2}: the word {@code b} is split exactly, in integers, into a quadrant {@code
 *       q} and a remainder {@code d} with {@code |d| <= 2^29}: {@code angle = q pi / 2 + 2 pi (2d +
 *       1) 2^-33}; sine and cosine of the small remainder are Taylor polynomials (to degree 9 and
 *       10), then swapped and negated by quadrant.
 * </ul>
 */
public final class BoxMullerF32 {
  /** Largest error of a normal relative to its pair's radius, against the double reference. */
  public static final double MAX_ERROR = 5e-7;

  // ---- -2 ln u ----
  static final int LOW_BYTE = 0xFF;
  static final float TWO_POW_M32 = 0x1p-32f;
  static final int SQRT_HALF_BITS = 0x3f3504f3;
  static final int ONE_BITS = 0x3f800000;
  static final int MANTISSA = 0x007fffff;

  /**
   * {@code 1 - sqrt(1/2)}: above it {@code ln(1 - v)} is reduced as {@code -ln 2 + log1p(1 - 2v)}.
   */
  static final float UPPER_SPLIT = 0.29289323f;

  static final float P0 = 7.0376836292E-2f;
  static final float P1 = -1.1514610310E-1f;
  static final float P2 = 1.1676998740E-1f;
  static final float P3 = -1.2420140846E-1f;
  static final float P4 = 1.4249322787E-1f;
  static final float P5 = -1.6668057665E-1f;
  static final float P6 = 2.0000714765E-1f;
  static final float P7 = -2.4999993993E-1f;
  static final float P8 = 3.3333331174E-1f;
  static final float LN2_HI = 0.693359375f;
  static final float LN2_LO = -2.12194440e-4f;

  // ---- sin and cos of 2 pi y, |y| <= 1/8 ----
  static final int QUARTER = 0x20000000;
  static final int REMAINDER = 0x3FFFFFFF;
  static final float TWO_POW_M33 = 0x1p-33f;
  static final float S1 = (float) (2 * Math.PI);
  static final float S3 = (float) (-Math.pow(2 * Math.PI, 3) / 6);
  static final float S5 = (float) (Math.pow(2 * Math.PI, 5) / 120);
  static final float S7 = (float) (-Math.pow(2 * Math.PI, 7) / 5040);
  static final float S9 = (float) (Math.pow(2 * Math.PI, 9) / 362880);
  static final float C2 = (float) (-Math.pow(2 * Math.PI, 2) / 2);
  static final float C4 = (float) (Math.pow(2 * Math.PI, 4) / 24);
  static final float C6 = (float) (-Math.pow(2 * Math.PI, 6) / 720);
  static final float C8 = (float) (Math.pow(2 * Math.PI, 8) / 40320);
  static final float C10 = (float) (-Math.pow(2 * Math.PI, 10) / 3628800);
  static final int SIGN = 0x80000000;

  private BoxMullerF32() {}

  /**
   * The two normals of words {@code (a, b)}: {@code out[at] = r cos}, {@code out[at + 1] = r sin}.
   */
  public static void pair(int a, int b, float[] out, int at) {
    float radius = radius(a);
    int q = (b + QUARTER) >>> 30;
    float y = (float) ((((b + QUARTER) & REMAINDER) - QUARTER) * 2 + 1) * TWO_POW_M33;
    float y2 = y * y;
    float s = ((((S9 * y2 + S7) * y2 + S5) * y2 + S3) * y2 + S1) * y;
    float c = ((((C10 * y2 + C8) * y2 + C6) * y2 + C4) * y2 + C2) * y2 + 1f;
    int sb = Float.floatToRawIntBits(s);
    int cb = Float.floatToRawIntBits(c);
    int swap = -(q & 1);
    int cosBits = ((cb & ~swap) | (sb & swap)) ^ (((q + 1) & 2) << 30);
    int sinBits = ((sb & ~swap) | (cb & swap)) ^ ((q & 2) << 30);
    out[at] = radius * Float.intBitsToFloat(cosBits);
    out[at + 1] = radius * Float.intBitsToFloat(sinBits);
  }

  /** {@code sqrt(-2 ln u)} for {@code u = (a + 0.5) 2^-32}, a read as unsigned. */
  static float radius(int a) {
    int w = a ^ (a >> 31);
    float v = ((float) (w & ~LOW_BYTE) + ((float) (w & LOW_BYTE) + 0.5f)) * TWO_POW_M32;
    // ln v = k ln 2 + log1p(m - 1), m in [sqrt(1/2), sqrt(2)) (the lower half's u)
    int ix = Float.floatToRawIntBits(v) + (ONE_BITS - SQRT_HALF_BITS);
    float kLow = (float) ((ix >> 23) - 0x7f);
    float fLow = Float.intBitsToFloat((ix & MANTISSA) + SQRT_HALF_BITS) - 1f;
    // ln(1 - v) for the upper half: log1p(-v), or -ln 2 + log1p(1 - 2v) when 1 - v < sqrt(1/2)
    int upper = a >> 31;
    // v > 0, so its bits order like ints: -1 when v > UPPER_SPLIT, else 0, without a branch
    int big = (Float.floatToRawIntBits(UPPER_SPLIT) - Float.floatToRawIntBits(v)) >> 31;
    float fUp =
        Float.intBitsToFloat(
            select(big, Float.floatToRawIntBits(1f - 2f * v), Float.floatToRawIntBits(-v)));
    float kUp = Float.intBitsToFloat(select(big, Float.floatToRawIntBits(-1f), 0));
    float f =
        Float.intBitsToFloat(
            select(upper, Float.floatToRawIntBits(fUp), Float.floatToRawIntBits(fLow)));
    float k =
        Float.intBitsToFloat(
            select(upper, Float.floatToRawIntBits(kUp), Float.floatToRawIntBits(kLow)));
    float z = f * f;
    float p =
        ((((((((P0 * f + P1) * f + P2) * f + P3) * f + P4) * f + P5) * f + P6) * f + P7) * f + P8);
    float y = p * f * z;
    y = y + LN2_LO * k;
    y = y + -0.5f * z;
    float ln = f + y;
    ln = ln + LN2_HI * k;
    return (float) Math.sqrt(-2f * ln);
  }

  /** {@code mask == -1 ? a : b} for a mask of all ones or all zeros. */
  private static int select(int mask, int a, int b) {
    return (a & mask) | (b & ~mask);
  }
}
