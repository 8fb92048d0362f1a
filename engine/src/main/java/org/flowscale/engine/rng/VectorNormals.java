package org.flowscale.engine.rng;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Philox4x32-10 and {@link BoxMullerF32} on the machine's widest vectors: {@link #LANES}
 * consecutive Philox blocks at a time, one per int lane. Every lane computes exactly the scalar
 * operations of {@link Philox#block} and {@link BoxMullerF32#pair} (no fused multiply-adds, same
 * order), so the draws are bit for bit the scalar ones. Loaded only when {@link Simd} found the
 * module.
 *
 * <p>The 32 x 32 -> 64-bit products of a Philox round use the int lanes as pairs of longs: even
 * lanes masked, odd lanes shifted down, each multiplied as 64-bit lanes; the high words are merged
 * back into int lanes. The four normals of a block (one per vector, lane = block) are finally
 * interleaved into memory order with two rounds of two-vector selections.
 */
final class VectorNormals {
  static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
  static final int LANES = INTS.length();

  private static final long LOW_WORD = 0xFFFFFFFFL;
  private static final long HIGH_WORD = 0xFFFFFFFF00000000L;
  private static final long M0 = Philox.M0 & LOW_WORD;
  private static final long M1 = Philox.M1 & LOW_WORD;

  private static final IntVector IOTA = IntVector.zero(INTS).addIndex(1);
  private static final FloatVector ZERO = FloatVector.zero(FLOATS);
  // Selections of the two interleaving rounds (see transpose).
  private static final IntVector PAIR_LOW = pairs(0);
  private static final IntVector PAIR_HIGH = pairs(LANES / 2);
  private static final IntVector QUAD_LOW = quads(0);
  private static final IntVector QUAD_HIGH = quads(LANES / 4);

  private VectorNormals() {}

  /** Whether the vectors fit this code: lanes a multiple of 4, floats as wide as ints. */
  static boolean usable() {
    return LANES >= 4 && LANES % 4 == 0 && FLOATS.length() == LANES;
  }

  /** Lane j takes element j / 2 + from of the first vector (j even) or of the second (j odd). */
  private static IntVector pairs(int from) {
    int[] ix = new int[LANES];
    for (int j = 0; j < LANES; j++) {
      ix[j] = (j % 2 == 0 ? 0 : LANES) + from + j / 2;
    }
    return IntVector.fromArray(INTS, ix, 0);
  }

  /**
   * Lane j takes, for block {@code from + j / 4} and normal {@code e = j % 4}, element {@code 2 *
   * block + e} of the first vector (normals 0, 1) or {@code 2 * block + e - 2} of the second (2,
   * 3).
   */
  private static IntVector quads(int from) {
    int[] ix = new int[LANES];
    for (int j = 0; j < LANES; j++) {
      int block = from + j / 4;
      int e = j % 4;
      ix[j] = e < 2 ? 2 * block + e : LANES + 2 * block + e - 2;
    }
    return IntVector.fromArray(INTS, ix, 0);
  }

  /** Blocks drawn per pass of the stages below (a multiple of any lane count). */
  private static final int BATCH = 256;

  /** Per-thread stage buffers: the words of a batch, then its normals by position in the block. */
  private static final class Scratch {
    final int[][] words = new int[4][BATCH];
    final float[][] normals = new float[4][BATCH];
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

  /**
   * The normals of {@code blocks} consecutive Philox blocks from {@code firstBlock} of particle
   * {@code particle} in {@code stream}: {@code out[at + 4 i + e]} = normal e of block {@code
   * firstBlock + i}. Blocks past the last full vector are drawn by the scalar code.
   *
   * <p>In stages over batches of blocks (Philox words, then Box-Muller, then interleaving), each a
   * loop in its own method that the JIT compiles whole: one method holding all of it is too big to
   * be compiled with every vector operation inlined, and vectors passed between methods that are
   * not inlined are boxed (two orders of magnitude slower).
   */
  static void fill(
      long seed, long stream, int particle, int firstBlock, int blocks, float[] out, int at) {
    int whole = blocks - blocks % LANES;
    if (whole > 0) {
      Scratch sc = SCRATCH.get();
      int[][] w = sc.words;
      float[][] z = sc.normals;
      for (int i = 0; i < whole; i += BATCH) {
        int n = Math.min(BATCH, whole - i);
        philox(seed, stream, particle, firstBlock + i, n, w[0], w[1], w[2], w[3]);
        boxMuller(w[0], w[1], n, z[0], z[1]);
        boxMuller(w[2], w[3], n, z[2], z[3]);
        interleave(z[0], z[1], z[2], z[3], n, out, at + 4 * i);
      }
    }
    int[] words = new int[4];
    for (int i = whole; i < blocks; i++) {
      Philox.gaussian4F32(seed, stream, particle, firstBlock + i, words, out, at + 4 * i);
    }
  }

  /**
   * The 4 output words of blocks {@code first .. first + n - 1} ({@code n} a multiple of lanes).
   * Two vectors of blocks go through the rounds side by side: a round is a chain of dependent
   * multiplies and xors, and two independent chains keep the vector units busy.
   */
  private static void philox(
      long seed,
      long stream,
      int particle,
      int first,
      int n,
      int[] w0,
      int[] w1,
      int[] w2,
      int[] w3) {
    int k0 = (int) seed;
    int k1 = (int) (seed >>> 32);
    IntVector p = IntVector.broadcast(INTS, particle);
    IntVector sLow = IntVector.broadcast(INTS, (int) stream);
    IntVector sHigh = IntVector.broadcast(INTS, (int) (stream >>> 32));
    int j = 0;
    for (; j + 2 * LANES <= n; j += 2 * LANES) {
      IntVector a0 = IOTA.add(first + j);
      IntVector a1 = p;
      IntVector a2 = sLow;
      IntVector a3 = sHigh;
      IntVector b0 = IOTA.add(first + j + LANES);
      IntVector b1 = p;
      IntVector b2 = sLow;
      IntVector b3 = sHigh;
      int key0 = k0;
      int key1 = k1;
      for (int round = 0; round < 10; round++) {
        IntVector ah0 = mulHigh(a0, M0);
        IntVector al0 = a0.mul((int) M0);
        IntVector ah1 = mulHigh(a2, M1);
        IntVector al1 = a2.mul((int) M1);
        IntVector bh0 = mulHigh(b0, M0);
        IntVector bl0 = b0.mul((int) M0);
        IntVector bh1 = mulHigh(b2, M1);
        IntVector bl1 = b2.mul((int) M1);
        a0 = ah1.lanewise(VectorOperators.XOR, a1).lanewise(VectorOperators.XOR, key0);
        a2 = ah0.lanewise(VectorOperators.XOR, a3).lanewise(VectorOperators.XOR, key1);
        a1 = al1;
        a3 = al0;
        b0 = bh1.lanewise(VectorOperators.XOR, b1).lanewise(VectorOperators.XOR, key0);
        b2 = bh0.lanewise(VectorOperators.XOR, b3).lanewise(VectorOperators.XOR, key1);
        b1 = bl1;
        b3 = bl0;
        key0 += Philox.W0;
        key1 += Philox.W1;
      }
      a0.intoArray(w0, j);
      a1.intoArray(w1, j);
      a2.intoArray(w2, j);
      a3.intoArray(w3, j);
      b0.intoArray(w0, j + LANES);
      b1.intoArray(w1, j + LANES);
      b2.intoArray(w2, j + LANES);
      b3.intoArray(w3, j + LANES);
    }
    for (; j < n; j += LANES) {
      IntVector c0 = IOTA.add(first + j);
      IntVector c1 = p;
      IntVector c2 = sLow;
      IntVector c3 = sHigh;
      int key0 = k0;
      int key1 = k1;
      for (int round = 0; round < 10; round++) {
        IntVector hi0 = mulHigh(c0, M0);
        IntVector lo0 = c0.mul((int) M0);
        IntVector hi1 = mulHigh(c2, M1);
        IntVector lo1 = c2.mul((int) M1);
        c0 = hi1.lanewise(VectorOperators.XOR, c1).lanewise(VectorOperators.XOR, key0);
        c2 = hi0.lanewise(VectorOperators.XOR, c3).lanewise(VectorOperators.XOR, key1);
        c1 = lo1;
        c3 = lo0;
        key0 += Philox.W0;
        key1 += Philox.W1;
      }
      c0.intoArray(w0, j);
      c1.intoArray(w1, j);
      c2.intoArray(w2, j);
      c3.intoArray(w3, j);
    }
  }

  /** The high words of the unsigned products {@code c * m}, lane by lane. */
  private static IntVector mulHigh(IntVector c, long m) {
    LongVector l = c.reinterpretAsLongs();
    LongVector even = l.and(LOW_WORD).mul(m);
    LongVector odd = l.lanewise(VectorOperators.LSHR, 32).mul(m);
    return even.lanewise(VectorOperators.LSHR, 32).or(odd.and(HIGH_WORD)).reinterpretAsInts();
  }

  /**
   * {@link BoxMullerF32#pair} of words {@code (wa[j], wb[j])} for {@code j < n}: {@code cosOut[j] =
   * r cos}, {@code sinOut[j] = r sin}. The same operations in the same order as the scalar code.
   */
  private static void boxMuller(int[] wa, int[] wb, int n, float[] cosOut, float[] sinOut) {
    for (int j = 0; j < n; j += LANES) {
      // radius: -2 ln u
      IntVector a = IntVector.fromArray(INTS, wa, j);
      IntVector w = a.lanewise(VectorOperators.XOR, a.lanewise(VectorOperators.ASHR, 31));
      FloatVector hi = toFloat(w.and(~BoxMullerF32.LOW_BYTE));
      FloatVector lo = toFloat(w.and(BoxMullerF32.LOW_BYTE)).add(0.5f);
      FloatVector v = hi.add(lo).mul(BoxMullerF32.TWO_POW_M32);
      IntVector ix = v.reinterpretAsInts().add(BoxMullerF32.ONE_BITS - BoxMullerF32.SQRT_HALF_BITS);
      FloatVector kLow = toFloat(ix.lanewise(VectorOperators.ASHR, 23).sub(0x7f));
      FloatVector fLow =
          ix.and(BoxMullerF32.MANTISSA)
              .add(BoxMullerF32.SQRT_HALF_BITS)
              .reinterpretAsFloats()
              .sub(1f);
      VectorMask<Float> big = v.compare(VectorOperators.GT, BoxMullerF32.UPPER_SPLIT);
      FloatVector fUp = v.neg().blend(v.mul(2f).neg().add(1f), big);
      FloatVector kUp = ZERO.blend(-1f, big);
      VectorMask<Float> upper = a.compare(VectorOperators.LT, 0).cast(FLOATS);
      FloatVector f = fLow.blend(fUp, upper);
      FloatVector k = kLow.blend(kUp, upper);
      FloatVector z = f.mul(f);
      FloatVector p = f.mul(BoxMullerF32.P0).add(BoxMullerF32.P1);
      p = p.mul(f).add(BoxMullerF32.P2);
      p = p.mul(f).add(BoxMullerF32.P3);
      p = p.mul(f).add(BoxMullerF32.P4);
      p = p.mul(f).add(BoxMullerF32.P5);
      p = p.mul(f).add(BoxMullerF32.P6);
      p = p.mul(f).add(BoxMullerF32.P7);
      p = p.mul(f).add(BoxMullerF32.P8);
      FloatVector y = p.mul(f).mul(z);
      y = y.add(k.mul(BoxMullerF32.LN2_LO));
      y = y.add(z.mul(-0.5f));
      FloatVector ln = f.add(y);
      ln = ln.add(k.mul(BoxMullerF32.LN2_HI));
      FloatVector radius = ln.mul(-2f).lanewise(VectorOperators.SQRT);
      // angle: quadrant and the sine and cosine of the remainder
      IntVector t = IntVector.fromArray(INTS, wb, j).add(BoxMullerF32.QUARTER);
      IntVector q = t.lanewise(VectorOperators.LSHR, 30);
      IntVector d2 =
          t.and(BoxMullerF32.REMAINDER)
              .sub(BoxMullerF32.QUARTER)
              .lanewise(VectorOperators.LSHL, 1)
              .add(1);
      FloatVector r = toFloat(d2).mul(BoxMullerF32.TWO_POW_M33);
      FloatVector r2 = r.mul(r);
      FloatVector s = r2.mul(BoxMullerF32.S9).add(BoxMullerF32.S7);
      s = s.mul(r2).add(BoxMullerF32.S5);
      s = s.mul(r2).add(BoxMullerF32.S3);
      s = s.mul(r2).add(BoxMullerF32.S1);
      s = s.mul(r);
      FloatVector c = r2.mul(BoxMullerF32.C10).add(BoxMullerF32.C8);
      c = c.mul(r2).add(BoxMullerF32.C6);
      c = c.mul(r2).add(BoxMullerF32.C4);
      c = c.mul(r2).add(BoxMullerF32.C2);
      c = c.mul(r2).add(1f);
      VectorMask<Float> swap = q.and(1).compare(VectorOperators.NE, 0).cast(FLOATS);
      // cos is negated in quadrants 1 and 2, sin in quadrants 2 and 3
      IntVector cosSign = q.add(1).and(2).lanewise(VectorOperators.LSHL, 30);
      IntVector sinSign = q.and(2).lanewise(VectorOperators.LSHL, 30);
      FloatVector cos =
          c.blend(s, swap)
              .reinterpretAsInts()
              .lanewise(VectorOperators.XOR, cosSign)
              .reinterpretAsFloats();
      FloatVector sin =
          s.blend(c, swap)
              .reinterpretAsInts()
              .lanewise(VectorOperators.XOR, sinSign)
              .reinterpretAsFloats();
      radius.mul(cos).intoArray(cosOut, j);
      radius.mul(sin).intoArray(sinOut, j);
    }
  }

  private static FloatVector toFloat(IntVector v) {
    return (FloatVector) v.convert(VectorOperators.I2F, 0);
  }

  /**
   * Writes normals 0..3 of {@code n} blocks ({@code z_e[i]} = normal e of block i) to {@code out[at
   * ..]} in memory order: block by block, four normals each.
   */
  private static void interleave(
      float[] z0, float[] z1, float[] z2, float[] z3, int n, float[] out, int at) {
    for (int j = 0; j < n; j += LANES) {
      IntVector a = FloatVector.fromArray(FLOATS, z0, j).reinterpretAsInts();
      IntVector b = FloatVector.fromArray(FLOATS, z1, j).reinterpretAsInts();
      IntVector c = FloatVector.fromArray(FLOATS, z2, j).reinterpretAsInts();
      IntVector d = FloatVector.fromArray(FLOATS, z3, j).reinterpretAsInts();
      IntVector abLow = PAIR_LOW.selectFrom(a, b);
      IntVector abHigh = PAIR_HIGH.selectFrom(a, b);
      IntVector cdLow = PAIR_LOW.selectFrom(c, d);
      IntVector cdHigh = PAIR_HIGH.selectFrom(c, d);
      int o = at + 4 * j;
      QUAD_LOW.selectFrom(abLow, cdLow).reinterpretAsFloats().intoArray(out, o);
      QUAD_HIGH.selectFrom(abLow, cdLow).reinterpretAsFloats().intoArray(out, o + LANES);
      QUAD_LOW.selectFrom(abHigh, cdHigh).reinterpretAsFloats().intoArray(out, o + 2 * LANES);
      QUAD_HIGH.selectFrom(abHigh, cdHigh).reinterpretAsFloats().intoArray(out, o + 3 * LANES);
    }
  }
}
