package org.flowscale.engine.ops.cpu;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.util.stream.IntStream;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;
import org.flowscale.engine.rng.Normals;
import org.flowscale.engine.rng.Philox;
import org.flowscale.engine.rng.Simd;

/**
 * The reference backend: plain loops over off-heap memory, rows spread over the common fork-join
 * pool when the work is large enough to pay for it. Results do not depend on the thread count:
 * every row is computed independently and every random draw is addressed (Philox).
 */
public final class CpuParticleOps implements ParticleOps {
  /** Below this many elements an operation runs on the calling thread. */
  private static final long PARALLEL_THRESHOLD = 1 << 15;

  /**
   * Columns per chunk of a row: the row's draws are made a chunk at a time (a multiple of 4), then
   * combined. Short enough that drawing (arithmetic) and combining (memory) alternate quickly: with
   * the vectorised draws, 512 measured 10-20% faster than 1024 and than 256 (StepCpuTime).
   */
  private static final int CHUNK = 512;

  /** The u or z operand of a term whose coefficient is 0: adding -0.0 changes no float. */
  private static final float[] NEG_ZEROS = new float[CHUNK];

  static {
    java.util.Arrays.fill(NEG_ZEROS, -0.0f);
  }

  /**
   * Small F32 affine calls a process makes through the staged loops before it switches to the
   * direct ones. Staged chunks are cheap from the first call, when nothing is compiled yet (CLI
   * runs: ~60 ms less CPU over a 500-NFE search with 64-value rows); the direct loops need no
   * copies and are 2-5x cheaper per call once compiled, but cost about that 60 ms while they are
   * not. A 500-NFE RBF search makes ~2500 calls, so short runs stay staged and long ones pay the
   * switch once. Both give the same bits.
   */
  static final int STAGED_CALLS = 20_000;

  private static int smallCalls;
  private static volatile boolean warm;

  private static boolean warmedUp() {
    if (warm) {
      return true;
    }
    // Counted without synchronisation: an approximate count is all the switch needs.
    if (++smallCalls > STAGED_CALLS) {
      warm = true;
    }
    return warm;
  }

  /** Whether this backend runs the vectorised loops; always the same bits as the scalar ones. */
  private final boolean simd;

  /** The backend, vectorised when {@link Simd#enabled()}. */
  public CpuParticleOps() {
    this(Simd.enabled());
  }

  /**
   * Tests compare the vectorised loops ({@code simd} true, when {@link Simd#available()}) with the
   * scalar ones.
   */
  CpuParticleOps(boolean simd) {
    this.simd = simd && Simd.available();
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public CpuTensor allocate(int rows, int cols, DType dtype) {
    return new CpuTensor(rows, cols, dtype);
  }

  /** The host memory behind a CPU tensor. */
  public static MemorySegment segment(Tensor t) {
    return cpu(t, "tensor").segment();
  }

  @Override
  public void upload(MemorySegment src, Tensor dst) {
    CpuTensor d = cpu(dst, "dst");
    TensorChecks.hostBytes(src, d.byteSize(), "src");
    MemorySegment.copy(src, 0, d.segment(), 0, d.byteSize());
  }

  @Override
  public void download(Tensor src, MemorySegment dst) {
    CpuTensor s = cpu(src, "src");
    TensorChecks.hostBytes(dst, s.byteSize(), "dst");
    MemorySegment.copy(s.segment(), 0, dst, 0, s.byteSize());
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    CpuTensor s = cpu(src, "src");
    CpuTensor d = cpu(dst, "dst");
    TensorChecks.sameShape(s, d, "src", "dst");
    TensorChecks.dtype(d, s.dtype(), "dst");
    MemorySegment.copy(s.segment(), 0, d.segment(), 0, s.byteSize());
  }

  @Override
  public void affine(Tensor x, Tensor u, Tensor coef, Noise noise, Tensor out) {
    CpuTensor xs = cpu(x, "x");
    CpuTensor os = cpu(out, "out");
    CpuTensor us = u == null ? null : cpu(u, "u");
    CpuTensor cs = cpu(coef, "coef");
    TensorChecks.floating(xs, "x");
    TensorChecks.floating(os, "out");
    TensorChecks.sameShape(xs, os, "x", "out");
    if (us != null) {
      TensorChecks.floating(us, "u");
      TensorChecks.sameShape(xs, us, "x", "u");
    }
    TensorChecks.coefficients(cs, xs.rows());
    MemorySegment ids = noiseIds(noise, xs.rows());
    int cols = xs.cols();
    MemorySegment c = cs.segment();
    // Coefficients that need an absent operand are refused up front, not silently dropped.
    for (int i = 0; i < xs.rows(); i++) {
      if (us == null && c.getAtIndex(JAVA_DOUBLE, 3L * i + 1) != 0) {
        throw new IllegalArgumentException("u is null but coef[" + i + ", 1] is not 0");
      }
      if (noise == null && c.getAtIndex(JAVA_DOUBLE, 3L * i + 2) != 0) {
        throw new IllegalArgumentException("noise is null but coef[" + i + ", 2] is not 0");
      }
    }
    boolean allF32 =
        xs.dtype() == DType.F32
            && os.dtype() == DType.F32
            && (us == null || us.dtype() == DType.F32);
    boolean direct = xs.elements() >= PARALLEL_THRESHOLD || warmedUp();
    forRows(
        xs.rows(),
        xs.elements(),
        i -> {
          float a = (float) c.getAtIndex(JAVA_DOUBLE, 3L * i);
          float b = (float) c.getAtIndex(JAVA_DOUBLE, 3L * i + 1);
          float s = (float) c.getAtIndex(JAVA_DOUBLE, 3L * i + 2);
          long base = (long) i * cols;
          int id = noise == null ? 0 : particleId(ids, i);
          RowNoise z = s == 0 ? null : new RowNoise(noise, id, cols, simd);
          if (allF32 && simd) {
            float[] zs = z == null ? NEG_ZEROS : z.values;
            MemorySegment x0 = xs.segment();
            MemorySegment u0 = us == null ? x0 : us.segment();
            for (int j0 = 0; j0 < cols; j0 += CHUNK) {
              int len = Math.min(CHUNK, cols - j0);
              if (z != null) {
                z.fill(j0, len);
              }
              VectorAffine.f32(x0, u0, os.segment(), base + j0, len, a, b, s, zs);
            }
          } else if (allF32 && direct) {
            affineF32Direct(xs, us, os, base, cols, a, b, s, z);
          } else if (allF32) {
            affineF32Row(xs, us, os, base, cols, a, b, s, z);
          } else {
            for (int j0 = 0; j0 < cols; j0 += CHUNK) {
              int len = Math.min(CHUNK, cols - j0);
              if (z != null) {
                z.fill(j0, len);
              }
              for (int j = 0; j < len; j++) {
                long k = base + j0 + j;
                float v = a * load(xs, k);
                if (b != 0) {
                  v += b * load(us, k);
                }
                if (s != 0) {
                  v += s * z.values[j];
                }
                store(os, k, v);
              }
            }
          }
        });
  }

  /**
   * One F32 row of a small call in a young process (see {@link #STAGED_CALLS}), without vectors:
   * each chunk is staged in float arrays (bulk copies in and out) and combined by {@link
   * #affineKernel}, a plain array loop that the JIT compiles quickly and auto-vectorises, and that
   * runs fast even before it is compiled (the element accessors of MemorySegment cost about a
   * microsecond each until they are). A zero coefficient's term becomes {@code 1 * -0.0}: adding
   * -0.0 leaves every float unchanged, bit for bit (a product with 0 would not: {@code 0 * inf} is
   * NaN and {@code -0.0 + 0.0} is +0.0), so one loop serves every pattern of coefficients and the
   * result is the scalar definition's.
   */
  private static void affineF32Row(
      CpuTensor xs,
      CpuTensor us,
      CpuTensor os,
      long base,
      int cols,
      float a,
      float b,
      float s,
      RowNoise z) {
    int n = Math.min(CHUNK, cols);
    float[] xb = new float[n];
    float[] ob = new float[n];
    float[] ub = us == null || b == 0 ? NEG_ZEROS : new float[n];
    float[] zb = z == null ? NEG_ZEROS : z.values;
    float bb = b == 0 ? 1f : b;
    float sb = z == null ? 1f : s;
    for (int j0 = 0; j0 < cols; j0 += CHUNK) {
      int len = Math.min(CHUNK, cols - j0);
      long at = (base + j0) * Float.BYTES;
      MemorySegment.copy(xs.segment(), JAVA_FLOAT, at, xb, 0, len);
      if (ub != NEG_ZEROS) {
        MemorySegment.copy(us.segment(), JAVA_FLOAT, at, ub, 0, len);
      }
      if (z != null) {
        z.fill(j0, len);
      }
      affineKernel(xb, ub, zb, ob, len, a, bb, sb);
      MemorySegment.copy(ob, 0, os.segment(), JAVA_FLOAT, at, len);
    }
  }

  /** {@code o = a x + b u + s z} over {@code len} elements, in that order of float operations. */
  private static void affineKernel(
      float[] x, float[] u, float[] z, float[] o, int len, float a, float b, float s) {
    for (int j = 0; j < len; j++) {
      o[j] = a * x[j] + b * u[j] + s * z[j];
    }
  }

  /**
   * One F32 row of a large call (bandwidth-bound), or of any call once the process is warm (see
   * {@link #STAGED_CALLS}): straight over the tensors' memory, one loop per pattern of zero
   * coefficients, each in its own method so no loop carries a branch. Same float operations in the
   * same order as {@link #affineKernel}, so the same bits.
   */
  private static void affineF32Direct(
      CpuTensor xs,
      CpuTensor us,
      CpuTensor os,
      long base,
      int cols,
      float a,
      float b,
      float s,
      RowNoise z) {
    MemorySegment x = xs.segment();
    MemorySegment out = os.segment();
    for (int j0 = 0; j0 < cols; j0 += CHUNK) {
      int len = Math.min(CHUNK, cols - j0);
      long k0 = base + j0;
      if (z != null) {
        z.fill(j0, len);
      }
      if (b == 0 && z == null) {
        scale(x, out, k0, len, a);
      } else if (z == null) {
        combine(x, us.segment(), out, k0, len, a, b);
      } else if (b == 0) {
        scaleNoise(x, z.values, out, k0, len, a, s);
      } else {
        combineNoise(x, us.segment(), z.values, out, k0, len, a, b, s);
      }
    }
  }

  private static void scale(MemorySegment x, MemorySegment out, long k0, int len, float a) {
    for (int j = 0; j < len; j++) {
      out.setAtIndex(JAVA_FLOAT, k0 + j, a * x.getAtIndex(JAVA_FLOAT, k0 + j));
    }
  }

  private static void combine(
      MemorySegment x, MemorySegment u, MemorySegment out, long k0, int len, float a, float b) {
    for (int j = 0; j < len; j++) {
      float v = a * x.getAtIndex(JAVA_FLOAT, k0 + j);
      v += b * u.getAtIndex(JAVA_FLOAT, k0 + j);
      out.setAtIndex(JAVA_FLOAT, k0 + j, v);
    }
  }

  private static void scaleNoise(
      MemorySegment x, float[] z, MemorySegment out, long k0, int len, float a, float s) {
    for (int j = 0; j < len; j++) {
      float v = a * x.getAtIndex(JAVA_FLOAT, k0 + j);
      v += s * z[j];
      out.setAtIndex(JAVA_FLOAT, k0 + j, v);
    }
  }

  private static void combineNoise(
      MemorySegment x,
      MemorySegment u,
      float[] z,
      MemorySegment out,
      long k0,
      int len,
      float a,
      float b,
      float s) {
    for (int j = 0; j < len; j++) {
      float v = a * x.getAtIndex(JAVA_FLOAT, k0 + j);
      v += b * u.getAtIndex(JAVA_FLOAT, k0 + j);
      v += s * z[j];
      out.setAtIndex(JAVA_FLOAT, k0 + j, v);
    }
  }

  /**
   * The draws of one row, a chunk at a time: element j is normal {@code j % 4} of Philox block
   * {@code j / 4} of the row's id ({@link Normals}, the float Box-Muller of {@link
   * org.flowscale.engine.rng.BoxMullerF32}). Chunks start at multiples of 4; a chunk's last block
   * is drawn whole, so the buffer holds whole blocks.
   */
  private static final class RowNoise {
    final float[] values;
    private final long seed;
    private final long stream;
    private final int id;
    private final boolean simd;

    RowNoise(Noise noise, int id, int cols, boolean simd) {
      this.values = new float[Math.min(CHUNK, (cols + 3) & ~3)];
      this.seed = noise.seed();
      this.stream = noise.stream();
      this.id = id;
      this.simd = simd;
    }

    void fill(int j0, int len) {
      if (simd) {
        Normals.fillVector(seed, stream, id, j0 >>> 2, (len + 3) >>> 2, values, 0);
      } else {
        Normals.fillScalar(seed, stream, id, j0 >>> 2, (len + 3) >>> 2, values, 0);
      }
    }
  }

  @Override
  public void gaussian(Noise noise, Tensor out) {
    if (noise == null) {
      throw new IllegalArgumentException("noise must not be null");
    }
    CpuTensor os = cpu(out, "out");
    TensorChecks.floating(os, "out");
    MemorySegment ids = noiseIds(noise, os.rows());
    int cols = os.cols();
    forRows(
        os.rows(),
        os.elements(),
        i -> {
          RowNoise z = new RowNoise(noise, particleId(ids, i), cols, simd);
          long base = (long) i * cols;
          for (int j0 = 0; j0 < cols; j0 += CHUNK) {
            int len = Math.min(CHUNK, cols - j0);
            z.fill(j0, len);
            if (os.dtype() == DType.F32) {
              MemorySegment.copy(z.values, 0, os.segment(), JAVA_FLOAT, (base + j0) * 4, len);
            } else {
              for (int j = 0; j < len; j++) {
                store(os, base + j0 + j, z.values[j]);
              }
            }
          }
        });
  }

  @Override
  public void gather(Tensor src, Tensor index, Tensor dst) {
    CpuTensor s = cpu(src, "src");
    CpuTensor d = cpu(dst, "dst");
    CpuTensor ix = cpu(index, "index");
    TensorChecks.gather(s, ix, d);
    long rowBytes = (long) s.cols() * s.dtype().bytes();
    for (int i = 0; i < ix.rows(); i++) {
      int from = ix.segment().getAtIndex(JAVA_INT, i);
      if (from < 0 || from >= s.rows()) {
        throw new IllegalArgumentException(
            "index[" + i + "] = " + from + " is outside src's " + s.rows() + " rows");
      }
    }
    // Gathering in place would read rows already overwritten: go through a copy.
    MemorySegment from = s == d ? copyOf(s.segment(), s.byteSize()) : s.segment();
    forRows(
        ix.rows(),
        d.elements(),
        i ->
            MemorySegment.copy(
                from,
                ix.segment().getAtIndex(JAVA_INT, i) * rowBytes,
                d.segment(),
                i * rowBytes,
                rowBytes));
  }

  @Override
  public void groupArgmax(Tensor values, int groupSize, Tensor outIndex) {
    CpuTensor v = column(values, DType.F64, "values");
    CpuTensor o = column(outIndex, DType.I32, "outIndex");
    int groups = TensorChecks.groups(v, groupSize, o);
    for (int g = 0; g < groups; g++) {
      int best = g * groupSize;
      double bestValue = v.segment().getAtIndex(JAVA_DOUBLE, best);
      for (int i = best + 1; i < (g + 1) * groupSize; i++) {
        double x = v.segment().getAtIndex(JAVA_DOUBLE, i);
        if (x > bestValue || (Double.isNaN(bestValue) && !Double.isNaN(x))) {
          best = i;
          bestValue = x;
        }
      }
      o.segment().setAtIndex(JAVA_INT, g, best);
    }
  }

  @Override
  public double logSumExp(Tensor values) {
    CpuTensor v = column(values, DType.F64, "values");
    return logSumExp(v.segment(), v.rows());
  }

  static double logSumExp(MemorySegment v, int n) {
    if (n == 0) {
      return Double.NEGATIVE_INFINITY;
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      double x = v.getAtIndex(JAVA_DOUBLE, i);
      if (Double.isNaN(x)) {
        return Double.NaN;
      }
      max = Math.max(max, x);
    }
    if (Double.isInfinite(max)) {
      return max;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.exp(v.getAtIndex(JAVA_DOUBLE, i) - max);
    }
    return max + Math.log(sum);
  }

  @Override
  public double effectiveSampleSize(Tensor logWeights) {
    CpuTensor v = column(logWeights, DType.F64, "logWeights");
    double lse = finiteTotal(v);
    double sumSq = 0;
    for (int i = 0; i < v.rows(); i++) {
      double w = Math.exp(v.segment().getAtIndex(JAVA_DOUBLE, i) - lse);
      sumSq += w * w;
    }
    return 1 / sumSq;
  }

  @Override
  public void resample(
      Tensor logWeights, Resampling scheme, long seed, long stream, Tensor outIndex) {
    CpuTensor v = column(logWeights, DType.F64, "logWeights");
    CpuTensor o = column(outIndex, DType.I32, "outIndex");
    if (scheme == null) {
      throw new IllegalArgumentException("resampling scheme must not be null");
    }
    double lse = finiteTotal(v);
    int n = v.rows();
    double[] cdf = new double[n];
    double acc = 0;
    for (int i = 0; i < n; i++) {
      acc += Math.exp(v.segment().getAtIndex(JAVA_DOUBLE, i) - lse);
      cdf[i] = acc;
    }
    int m = o.rows();
    double offset = scheme == Resampling.SYSTEMATIC ? Philox.uniform(seed, stream, 0) : 0;
    for (int k = 0; k < m; k++) {
      // Positions are scaled by the cdf's total, so rounding in the sum can never push past it.
      double pos =
          scheme == Resampling.SYSTEMATIC
              ? (k + offset) / m * acc
              : Philox.uniform(seed, stream, k) * acc;
      o.segment().setAtIndex(JAVA_INT, k, search(cdf, pos));
    }
  }

  /** The first index whose cumulative weight exceeds pos, skipping zero-weight entries. */
  static int search(double[] cdf, double pos) {
    int lo = 0;
    int hi = cdf.length - 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (cdf[mid] > pos) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  }

  private static double finiteTotal(CpuTensor v) {
    if (v.rows() == 0) {
      throw new IllegalArgumentException("logWeights must not be empty");
    }
    double lse = logSumExp(v.segment(), v.rows());
    if (!Double.isFinite(lse)) {
      throw new IllegalArgumentException(
          "logWeights must be finite or -inf with at least one finite entry; log-sum-exp is "
              + lse);
    }
    return lse;
  }

  /**
   * One pass over the rows, each scanned for an exponent of all ones (NaN or an infinity) without
   * branching per value; large tensors split their rows over the fork-join pool, and the first
   * offending row in row order wins, so the answer does not depend on the thread count.
   */
  @Override
  public int firstNonFiniteRow(Tensor t) {
    CpuTensor c = cpu(t, "tensor");
    TensorChecks.finiteCheckable(c);
    MemorySegment s = c.segment();
    int cols = c.cols();
    java.util.function.IntPredicate bad =
        switch (c.dtype()) {
          case F32 -> i -> nonFiniteF32(s, (long) i * cols, cols);
          case BF16 -> i -> nonFiniteBf16(s, (long) i * cols, cols);
          default -> i -> nonFiniteF64(s, (long) i * cols, cols);
        };
    if (c.elements() < PARALLEL_THRESHOLD || c.rows() < 2) {
      for (int i = 0; i < c.rows(); i++) {
        if (bad.test(i)) {
          return i;
        }
      }
      return -1;
    }
    return IntStream.range(0, c.rows()).parallel().filter(bad).findFirst().orElse(-1);
  }

  // A value is non-finite exactly when its exponent bits are all ones; OR-ing the masked
  // comparisons of a chunk keeps the inner loop free of early exits.
  private static boolean nonFiniteF32(MemorySegment s, long k0, int len) {
    int any = 0;
    for (int j = 0; j < len; j++) {
      int e = s.getAtIndex(JAVA_INT, k0 + j) & 0x7F80_0000;
      any |= e == 0x7F80_0000 ? 1 : 0;
    }
    return any != 0;
  }

  private static boolean nonFiniteBf16(MemorySegment s, long k0, int len) {
    int any = 0;
    for (int j = 0; j < len; j++) {
      int e = s.getAtIndex(JAVA_SHORT, k0 + j) & 0x7F80;
      any |= e == 0x7F80 ? 1 : 0;
    }
    return any != 0;
  }

  private static boolean nonFiniteF64(MemorySegment s, long k0, int len) {
    int any = 0;
    for (int j = 0; j < len; j++) {
      long e =
          s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, k0 + j) & 0x7FF0_0000_0000_0000L;
      any |= e == 0x7FF0_0000_0000_0000L ? 1 : 0;
    }
    return any != 0;
  }

  @Override
  public void synchronize() {}

  @Override
  public void close() {}

  // ---- helpers ----

  private interface RowBody {
    void row(int i);
  }

  private static void forRows(int rows, long elements, RowBody body) {
    if (elements < PARALLEL_THRESHOLD || rows < 2) {
      for (int i = 0; i < rows; i++) {
        body.row(i);
      }
    } else {
      IntStream.range(0, rows).parallel().forEach(body::row);
    }
  }

  private static float load(CpuTensor t, long k) {
    return t.dtype() == DType.F32
        ? t.segment().getAtIndex(JAVA_FLOAT, k)
        : DType.fromBf16(t.segment().getAtIndex(JAVA_SHORT, k));
  }

  private static void store(CpuTensor t, long k, float v) {
    if (t.dtype() == DType.F32) {
      t.segment().setAtIndex(JAVA_FLOAT, k, v);
    } else {
      t.segment().setAtIndex(JAVA_SHORT, k, DType.toBf16(v));
    }
  }

  private static MemorySegment noiseIds(Noise noise, int rows) {
    if (noise == null || noise.ids() == null) {
      return null;
    }
    CpuTensor ids = cpu(noise.ids(), "noise.ids");
    TensorChecks.noiseIds(ids, rows);
    for (int i = 0; i < rows; i++) {
      if (ids.segment().getAtIndex(JAVA_INT, i) < 0) {
        throw new IllegalArgumentException("noise.ids[" + i + "] must be >= 0");
      }
    }
    return ids.segment();
  }

  private static int particleId(MemorySegment ids, int row) {
    return ids == null ? row : ids.getAtIndex(JAVA_INT, row);
  }

  private static MemorySegment copyOf(MemorySegment s, long bytes) {
    MemorySegment c = java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, bytes), 64);
    MemorySegment.copy(s, 0, c, 0, bytes);
    return c;
  }

  private static CpuTensor cpu(Tensor t, String name) {
    if (t == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (!(t instanceof CpuTensor c)) {
      throw new IllegalArgumentException(
          name + " is a " + t.getClass().getSimpleName() + ", not a tensor of the cpu backend");
    }
    if (!c.segment().scope().isAlive()) {
      throw new IllegalStateException(name + " has been closed");
    }
    return c;
  }

  private static CpuTensor column(Tensor t, DType dtype, String name) {
    CpuTensor c = cpu(t, name);
    TensorChecks.column(c, dtype, name);
    return c;
  }
}
