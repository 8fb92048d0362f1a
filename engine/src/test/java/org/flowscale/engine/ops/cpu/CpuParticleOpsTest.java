package org.flowscale.engine.ops.cpu;

import static org.flowscale.engine.testing.HostTensors.coefs;
import static org.flowscale.engine.testing.HostTensors.doubles;
import static org.flowscale.engine.testing.HostTensors.floats;
import static org.flowscale.engine.testing.HostTensors.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Supplier;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.rng.BoxMullerF32;
import org.flowscale.engine.rng.Philox;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CpuParticleOpsTest {
  private static final long SEED = 0x5eed_0000_0001L;

  private final ParticleOps ops = new CpuParticleOps();

  @AfterEach
  void close() {
    ops.close();
  }

  private static float[] randomFloats(long seed, int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rnd.nextGaussian();
    }
    return v;
  }

  private static int[] range(int from, int to) {
    int[] v = new int[to - from];
    for (int i = 0; i < v.length; i++) {
      v[i] = from + i;
    }
    return v;
  }

  private static void refused(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(
        e.getMessage() != null && e.getMessage().contains(argument),
        "message should name '" + argument + "': " + e.getMessage());
  }

  // ---- Gaussian draws: addressed, so independent of batching and threads ----

  /** The CPU backend's draw: element j of particle id, Philox.gaussian4F32 of block j / 4. */
  static float draw(long seed, long stream, int id, int j) {
    float[] z = new float[4];
    Philox.gaussian4F32(seed, stream, id, j / 4, new int[4], z, 0);
    return z[j % 4];
  }

  /**
   * The draws are the double reference's ({@link Philox#gaussian}) to float rounding: within {@link
   * BoxMullerF32#MAX_ERROR} of the pair's radius (the CUDA kernel's are within 1e-6).
   */
  @Test
  void drawsAreTheDoubleReferenceToFloatRounding() {
    int cols = 4096;
    try (Tensor out = ops.allocate(2, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 5, null), out);
      float[] z = floats(ops, out);
      double worst = 0;
      for (int k = 0; k < z.length; k++) {
        int j = k % cols;
        double ref = Philox.gaussian(SEED, 5, k / cols, j);
        double pair = Philox.gaussian(SEED, 5, k / cols, j ^ 1);
        worst = Math.max(worst, Math.abs(z[k] - ref) / Math.max(1e-3, Math.hypot(ref, pair)));
      }
      assertTrue(worst < BoxMullerF32.MAX_ERROR, "worst error / radius " + worst);
    }
  }

  @ParameterizedTest(name = "vectorised {0}")
  @ValueSource(booleans = {true, false})
  void gaussianIsTheF32DrawAtTheRowsId(boolean simd) {
    ParticleOps ops = new CpuParticleOps(simd);
    int rows = 5;
    int cols = 11; // not a multiple of 4: the last block is used in part
    int[] ids = {9, 0, 123456, 3, 9};
    try (Tensor idt = ints(ops, ids);
        Tensor out = ops.allocate(rows, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 77, idt), out);
      float[] z = floats(ops, out);
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          assertEquals(draw(SEED, 77, ids[i], j), z[i * cols + j], 0);
        }
      }
      assertArrayEquals(Arrays.copyOfRange(z, 0, cols), Arrays.copyOfRange(z, 4 * cols, 5 * cols));
    }
    try (Tensor out = ops.allocate(3, 2051, DType.BF16)) {
      ops.gaussian(new Noise(SEED, 78, null), out);
      float[] z = floats(ops, out);
      for (int j = 0; j < 2051; j++) {
        float expected = DType.fromBf16(DType.toBf16(draw(SEED, 78, 1, j)));
        assertEquals(expected, z[2051 + j], 0, "bf16 col " + j);
      }
    }
    try (Tensor out = ops.allocate(3, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 77, null), out);
      float[] z = floats(ops, out);
      assertEquals(draw(SEED, 77, 2, 10), z[2 * cols + 10], 0, "id = row");
    }
  }

  /** 64 x 1024 runs on the fork-join pool; single rows run on the calling thread. */
  @Test
  void gaussianIsTheSameInOneBatchSplitBatchesAndSingleRows() {
    int rows = 64;
    int cols = 1024;
    int[] ids = range(1000, 1000 + rows);
    float[] whole;
    try (Tensor idt = ints(ops, ids);
        Tensor out = ops.allocate(rows, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 3, idt), out);
      whole = floats(ops, out);
    }
    float[] split = new float[rows * cols];
    int cut = 23;
    try (Tensor a = ints(ops, range(1000, 1000 + cut));
        Tensor b = ints(ops, range(1000 + cut, 1000 + rows));
        Tensor outA = ops.allocate(cut, cols, DType.F32);
        Tensor outB = ops.allocate(rows - cut, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 3, a), outA);
      ops.gaussian(new Noise(SEED, 3, b), outB);
      System.arraycopy(floats(ops, outA), 0, split, 0, cut * cols);
      System.arraycopy(floats(ops, outB), 0, split, cut * cols, (rows - cut) * cols);
    }
    assertArrayEquals(whole, split);
    for (int i = 0; i < rows; i += 7) {
      try (Tensor one = ints(ops, ids[i]);
          Tensor out = ops.allocate(1, cols, DType.F32)) {
        ops.gaussian(new Noise(SEED, 3, one), out);
        assertArrayEquals(Arrays.copyOfRange(whole, i * cols, (i + 1) * cols), floats(ops, out));
      }
    }
    // Reversed row order: each row follows its id, not its position.
    int[] reversed = new int[rows];
    for (int i = 0; i < rows; i++) {
      reversed[i] = ids[rows - 1 - i];
    }
    try (Tensor idt = ints(ops, reversed);
        Tensor out = ops.allocate(rows, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 3, idt), out);
      float[] r = floats(ops, out);
      for (int i = 0; i < rows; i++) {
        assertArrayEquals(
            Arrays.copyOfRange(whole, i * cols, (i + 1) * cols),
            Arrays.copyOfRange(r, (rows - 1 - i) * cols, (rows - i) * cols));
      }
    }
  }

  /** The noisy step run inside pools of 1 and 3 workers and on the common pool: same bits. */
  @Test
  void affineWithNoiseIsIndependentOfThreadCountAndBatchSplit() throws Exception {
    int rows = 48;
    int cols = 1536;
    float[] x = randomFloats(1, rows * cols);
    float[] u = randomFloats(2, rows * cols);
    int[] ids = range(500, 500 + rows);
    Supplier<float[]> step =
        () -> {
          try (Tensor xt = floats(ops, rows, cols, x);
              Tensor ut = floats(ops, rows, cols, u);
              Tensor c = coefs(ops, rows, 0.99, -0.01, 0.1);
              Tensor idt = ints(ops, ids)) {
            ops.affine(xt, ut, c, new Noise(SEED, 11, idt), xt);
            return floats(ops, xt);
          }
        };
    float[] common = step.get();
    for (int threads : new int[] {1, 3}) {
      ForkJoinPool pool = new ForkJoinPool(threads);
      try {
        assertArrayEquals(common, pool.submit(step::get).get(), threads + " threads");
      } finally {
        pool.shutdown();
      }
    }
    // Split into a small batch (sequential path) and the rest.
    int cut = 2;
    float[] split = new float[rows * cols];
    for (int[] part : new int[][] {{0, cut}, {cut, rows}}) {
      int n = part[1] - part[0];
      try (Tensor xt = floats(ops, n, cols, Arrays.copyOfRange(x, part[0] * cols, part[1] * cols));
          Tensor ut = floats(ops, n, cols, Arrays.copyOfRange(u, part[0] * cols, part[1] * cols));
          Tensor c = coefs(ops, n, 0.99, -0.01, 0.1);
          Tensor idt = ints(ops, Arrays.copyOfRange(ids, part[0], part[1]));
          Tensor out = ops.allocate(n, cols, DType.F32)) {
        ops.affine(xt, ut, c, new Noise(SEED, 11, idt), out);
        System.arraycopy(floats(ops, out), 0, split, part[0] * cols, n * cols);
      }
    }
    assertArrayEquals(common, split);
  }

  @Test
  void gaussianDrawsFromTheOpsHaveStandardMoments() {
    int rows = 256;
    int cols = 4096;
    try (Tensor out = ops.allocate(rows, cols, DType.F32)) {
      ops.gaussian(new Noise(99, 1, null), out);
      float[] z = floats(ops, out);
      double n = z.length;
      double s1 = 0;
      double s2 = 0;
      double s3 = 0;
      double s4 = 0;
      for (float f : z) {
        double x = f;
        s1 += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
      }
      // Within 5 standard errors of N(0, 1)'s moments for n samples.
      assertEquals(0, s1 / n, 5 / Math.sqrt(n));
      assertEquals(1, s2 / n, 5 * Math.sqrt(2 / n));
      assertEquals(0, s3 / n, 5 * Math.sqrt(6 / n));
      assertEquals(3, s4 / n, 5 * Math.sqrt(24 / n));
    }
  }

  // ---- affine ----

  private static float[] reference(
      float[] x, float[] u, float[] z, double a, double b, double c, boolean bf16) {
    float[] out = new float[x.length];
    for (int k = 0; k < x.length; k++) {
      double v = a * x[k] + (u == null ? 0 : b * u[k]) + (z == null ? 0 : c * z[k]);
      out[k] = bf16 ? DType.fromBf16(DType.toBf16((float) v)) : (float) v;
    }
    return out;
  }

  private static void assertClose(float[] expected, float[] actual, double rel, String what) {
    assertEquals(expected.length, actual.length);
    for (int k = 0; k < expected.length; k++) {
      double tol = rel * Math.max(1, Math.abs(expected[k]));
      assertEquals(expected[k], actual[k], tol, what + " at " + k);
    }
  }

  @Test
  void affineF32PerRowCoefficientsAndAliasing() {
    int rows = 3;
    int cols = 7;
    float[] x = randomFloats(3, rows * cols);
    float[] u = randomFloats(4, rows * cols);
    double[] c = {0.5, -2, 0, 1, 0.25, 0.75, -1, 3, 1.5};
    float[] expected = new float[rows * cols];
    try (Tensor z = ops.allocate(rows, cols, DType.F32)) {
      ops.gaussian(new Noise(SEED, 1, null), z);
      float[] zs = floats(ops, z);
      for (int i = 0; i < rows; i++) {
        float[] row =
            reference(
                Arrays.copyOfRange(x, i * cols, (i + 1) * cols),
                Arrays.copyOfRange(u, i * cols, (i + 1) * cols),
                Arrays.copyOfRange(zs, i * cols, (i + 1) * cols),
                c[3 * i],
                c[3 * i + 1],
                c[3 * i + 2],
                false);
        System.arraycopy(row, 0, expected, i * cols, cols);
      }
    }
    // Arithmetic is in float: a few ulps of the largest term.
    double rel = 1e-6 * 8;
    try (Tensor xt = floats(ops, rows, cols, x);
        Tensor ut = floats(ops, rows, cols, u);
        Tensor ct = doubles(ops, rows, 3, c);
        Tensor out = ops.allocate(rows, cols, DType.F32)) {
      ops.affine(xt, ut, ct, new Noise(SEED, 1, null), out);
      assertClose(expected, floats(ops, out), rel, "separate out");
      ops.affine(xt, ut, ct, new Noise(SEED, 1, null), xt);
      assertClose(expected, floats(ops, xt), rel, "out == x");
      assertArrayEquals(u, floats(ops, ut), "u untouched");
    }
    try (Tensor xt = floats(ops, rows, cols, x);
        Tensor ut = floats(ops, rows, cols, u);
        Tensor ct = doubles(ops, rows, 3, c)) {
      ops.affine(xt, ut, ct, new Noise(SEED, 1, null), ut);
      assertClose(expected, floats(ops, ut), rel, "out == u");
    }
  }

  /**
   * The contract of the fused step, bit for bit: in float, {@code v = a x}, then {@code v += b u}
   * when b is not 0, then {@code v += c z} when c is not 0, with z = the F32 draw ({@link #draw})
   * at the row's id. Rows use each pattern of zero coefficients; 2051 columns cross every internal
   * block and chunk boundary with a ragged end; both dtypes, with out aliasing x. Each loop that
   * computes it: vectorised, and scalar for small calls (staged in arrays) and for large ones (8203
   * columns: over 2^15 elements, straight over memory).
   */
  @ParameterizedTest(name = "vectorised {0}, {1} columns")
  @CsvSource({"true, 2051", "false, 2051", "true, 8203", "false, 8203"})
  void affineIsBitExactAgainstTheScalarDefinition(boolean simd, int cols) {
    ParticleOps ops = new CpuParticleOps(simd);
    int rows = 4;
    int[] ids = {40, 3, 0, 77777};
    double[] c = {0.9, -0.1, 0.3, 1.1, 0, 0, -0.7, 0.2, 0, 0.5, 0, 1.7};
    float[] x = randomFloats(21, rows * cols);
    float[] u = randomFloats(22, rows * cols);
    x[5] = Float.POSITIVE_INFINITY; // with b = 0 the u term is skipped, not multiplied by 0
    u[cols + 6] = Float.NaN;
    x[cols + 7] = -0.0f; // b = c = 0: the result keeps the sign of a x = -0.0
    for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
      try (Tensor xt = floats(ops, rows, cols, dtype, x);
          Tensor ut = floats(ops, rows, cols, dtype, u);
          Tensor ct = doubles(ops, rows, 3, c);
          Tensor idt = ints(ops, ids)) {
        float[] xs = floats(ops, xt);
        float[] us = floats(ops, ut);
        ops.affine(xt, ut, ct, new Noise(SEED, 9, idt), xt);
        float[] got = floats(ops, xt);
        for (int i = 0; i < rows; i++) {
          float a = (float) c[3 * i];
          float b = (float) c[3 * i + 1];
          float s = (float) c[3 * i + 2];
          for (int j = 0; j < cols; j++) {
            int k = i * cols + j;
            float v = a * xs[k];
            if (b != 0) {
              v += b * us[k];
            }
            if (s != 0) {
              v += s * draw(SEED, 9, ids[i], j);
            }
            float expected = dtype == DType.BF16 ? DType.fromBf16(DType.toBf16(v)) : v;
            assertEquals(
                Float.floatToIntBits(expected),
                Float.floatToIntBits(got[k]),
                dtype + " row " + i + " col " + j + ": " + expected + " vs " + got[k]);
          }
        }
      }
    }
  }

  @Test
  void affineBf16() {
    int rows = 2;
    int cols = 9;
    float[] x = randomFloats(5, rows * cols);
    float[] u = randomFloats(6, rows * cols);
    try (Tensor xt = floats(ops, rows, cols, DType.BF16, x);
        Tensor ut = floats(ops, rows, cols, DType.BF16, u);
        Tensor ct = coefs(ops, rows, 1.5, -0.5, 0)) {
      float[] xb = floats(ops, xt);
      float[] ub = floats(ops, ut);
      for (int k = 0; k < xb.length; k++) {
        assertEquals(x[k], xb[k], Math.abs(x[k]) / 256, "bf16 keeps 8 significant bits");
      }
      ops.affine(xt, ut, ct, null, xt);
      float[] expected = reference(xb, ub, null, 1.5, -0.5, 0, true);
      // One float rounding before the bf16 rounding can move a tie: allow one bf16 ulp.
      assertClose(expected, floats(ops, xt), 1.0 / 128, "bf16 out == x");
    }
  }

  @Test
  void affineWithoutVelocityOrNoise() {
    float[] x = {1, 2, 3, 4};
    try (Tensor xt = floats(ops, 2, 2, x);
        Tensor ct = coefs(ops, 2, 2, 0, 0);
        Tensor bad = coefs(ops, 2, 1, 0.5, 0);
        Tensor noisy = coefs(ops, 2, 1, 0, 0.5)) {
      ops.affine(xt, null, ct, null, xt);
      assertArrayEquals(new float[] {2, 4, 6, 8}, floats(ops, xt));
      refused("u is null", () -> ops.affine(xt, null, bad, null, xt));
      refused("noise is null", () -> ops.affine(xt, null, noisy, null, xt));
      assertArrayEquals(new float[] {2, 4, 6, 8}, floats(ops, xt), "nothing half-written");
    }
  }

  // ---- gather ----

  @Test
  void gatherRows() {
    float[] src = {0, 0.5f, 1, 1.5f, 2, 2.5f};
    try (Tensor s = floats(ops, 3, 2, src);
        Tensor idx = ints(ops, 2, 2, 0, 1);
        Tensor d = ops.allocate(4, 2, DType.F32)) {
      ops.gather(s, idx, d);
      assertArrayEquals(new float[] {2, 2.5f, 2, 2.5f, 0, 0.5f, 1, 1.5f}, floats(ops, d));
    }
  }

  @Test
  void gatherInPlaceReadsTheOriginalRows() {
    // A rotation: row 0 <- row 2 <- row 1 <- row 0; a naive in-place loop would copy row 2 twice.
    float[] src = {0, 1, 2};
    try (Tensor s = floats(ops, 3, 1, src);
        Tensor idx = ints(ops, 2, 0, 1)) {
      ops.gather(s, idx, s);
      assertArrayEquals(new float[] {2, 0, 1}, floats(ops, s));
    }
    // Large enough for the parallel path.
    int rows = 64;
    int cols = 1024;
    float[] big = randomFloats(8, rows * cols);
    int[] perm = new int[rows];
    for (int i = 0; i < rows; i++) {
      perm[i] = (i * 37 + 5) % rows;
    }
    try (Tensor s = floats(ops, rows, cols, big);
        Tensor idx = ints(ops, perm)) {
      ops.gather(s, idx, s);
      float[] out = floats(ops, s);
      for (int i = 0; i < rows; i++) {
        assertArrayEquals(
            Arrays.copyOfRange(big, perm[i] * cols, (perm[i] + 1) * cols),
            Arrays.copyOfRange(out, i * cols, (i + 1) * cols));
      }
    }
  }

  @Test
  void gatherRefusesBadIndices() {
    try (Tensor s = floats(ops, 2, 1, 0, 1);
        Tensor idx = ints(ops, 0, 2);
        Tensor neg = ints(ops, -1, 0);
        Tensor d = ops.allocate(2, 1, DType.F32)) {
      refused("index[1] = 2", () -> ops.gather(s, idx, d));
      refused("index[0] = -1", () -> ops.gather(s, neg, d));
    }
  }

  // ---- reductions ----

  @Test
  void groupArgmaxTiesAndNaN() {
    double nan = Double.NaN;
    double ninf = Double.NEGATIVE_INFINITY;
    double[] v = {
      1,
      3,
      3,
      2, // tie: the first 3 (row 1)
      nan,
      0.5,
      nan,
      0.7, // NaN never wins: row 7
      nan,
      nan,
      nan,
      nan, // all NaN: the first row of the group (8)
      ninf,
      ninf,
      -5,
      ninf, // -inf loses to any number: row 14
      nan,
      ninf,
      ninf,
      nan // NaN loses to -inf: row 17
    };
    try (Tensor values = doubles(ops, v.length, 1, v);
        Tensor out = ops.allocate(5, 1, DType.I32)) {
      ops.groupArgmax(values, 4, out);
      assertArrayEquals(new int[] {1, 7, 8, 14, 17}, ints(ops, out));
      refused("groupSize", () -> ops.groupArgmax(values, 3, out));
      refused("outIndex must have 10 rows", () -> ops.groupArgmax(values, 2, out));
    }
  }

  @Test
  void logSumExpIsStable() {
    double ninf = Double.NEGATIVE_INFINITY;
    double ln2 = Math.log(2);
    assertLse(1000 + ln2, 1000, 1000);
    assertLse(-1000 + ln2, -1000, -1000);
    assertLse(1000, 1000, -1000);
    assertLse(0, 0, ninf);
    assertLse(ninf, ninf, ninf);
    assertLse(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), 1, 2, 3);
    assertLse(Double.POSITIVE_INFINITY, 1, Double.POSITIVE_INFINITY);
    assertLse(Double.NaN, 1, Double.NaN);
    try (Tensor empty = ops.allocate(0, 1, DType.F64)) {
      assertEquals(ninf, ops.logSumExp(empty));
    }
  }

  private void assertLse(double expected, double... values) {
    try (Tensor t = doubles(ops, values.length, 1, values)) {
      assertEquals(expected, ops.logSumExp(t), 1e-12, Arrays.toString(values));
    }
  }

  @Test
  void effectiveSampleSize() {
    double ninf = Double.NEGATIVE_INFINITY;
    assertEss(10, new double[10]);
    assertEss(10, filled(10, 700)); // exp(700) would overflow any naive sum of squares
    assertEss(1, 0, -1000, -1000, -1000);
    assertEss(1, 5, ninf, ninf);
    assertEss(2, 500, 500, ninf, ninf);
    // Weights 1/4, 3/4: 1 / (1/16 + 9/16) = 1.6.
    assertEss(1.6, 0, Math.log(3));
    try (Tensor t = doubles(ops, 2, 1, ninf, ninf)) {
      refused("logWeights", () -> ops.effectiveSampleSize(t));
    }
    try (Tensor t = doubles(ops, 2, 1, 0, Double.NaN)) {
      refused("logWeights", () -> ops.effectiveSampleSize(t));
    }
  }

  private static double[] filled(int n, double v) {
    double[] a = new double[n];
    Arrays.fill(a, v);
    return a;
  }

  private void assertEss(double expected, double... logWeights) {
    try (Tensor t = doubles(ops, logWeights.length, 1, logWeights)) {
      assertEquals(expected, ops.effectiveSampleSize(t), 1e-9, Arrays.toString(logWeights));
    }
  }

  // ---- resampling ----

  private static final double[] PROBS = {0.1, 0.2, 0, 0.3, 0.4};

  private Tensor logProbs(double shift) {
    double[] lw = new double[PROBS.length];
    for (int i = 0; i < lw.length; i++) {
      lw[i] = Math.log(PROBS[i]) + shift; // log(0) = -inf: a particle that must never be drawn
    }
    return doubles(ops, lw.length, 1, lw);
  }

  /**
   * 40000 multinomial draws: Pearson's chi-square over the 4 non-zero categories (3 degrees of
   * freedom) must stay below 21.11, its 0.9999 quantile.
   */
  @Test
  void multinomialFrequencies() {
    int m = 40000;
    try (Tensor lw = logProbs(1000);
        Tensor out = ops.allocate(m, 1, DType.I32)) {
      ops.resample(lw, Resampling.MULTINOMIAL, SEED, 4, out);
      int[] counts = new int[PROBS.length];
      for (int i : ints(ops, out)) {
        counts[i]++;
      }
      assertEquals(0, counts[2], "zero weight never drawn");
      double chi2 = 0;
      for (int i = 0; i < PROBS.length; i++) {
        if (PROBS[i] > 0) {
          double e = m * PROBS[i];
          chi2 += (counts[i] - e) * (counts[i] - e) / e;
        }
      }
      assertTrue(chi2 < 21.11, "chi-square " + chi2 + " counts " + Arrays.toString(counts));
    }
  }

  @Test
  void multinomialIsAddressedBySeedAndStream() {
    int m = 64;
    try (Tensor lw = logProbs(0);
        Tensor a = ops.allocate(m, 1, DType.I32);
        Tensor b = ops.allocate(m, 1, DType.I32)) {
      ops.resample(lw, Resampling.MULTINOMIAL, SEED, 4, a);
      ops.resample(lw, Resampling.MULTINOMIAL, SEED, 4, b);
      assertArrayEquals(ints(ops, a), ints(ops, b));
      ops.resample(lw, Resampling.MULTINOMIAL, SEED, 5, b);
      assertFalse(Arrays.equals(ints(ops, a), ints(ops, b)), "another stream, other draws");
    }
  }

  /** Systematic resampling draws each index floor(m p) or ceil(m p) times, in order. */
  @Test
  void systematicCounts() {
    for (int m : new int[] {7, 10, 33, 1000}) {
      for (long stream = 0; stream < 5; stream++) {
        try (Tensor lw = logProbs(-1000);
            Tensor out = ops.allocate(m, 1, DType.I32)) {
          ops.resample(lw, Resampling.SYSTEMATIC, SEED, stream, out);
          int[] idx = ints(ops, out);
          int[] counts = new int[PROBS.length];
          for (int k = 0; k < m; k++) {
            counts[idx[k]]++;
            if (k > 0) {
              assertTrue(idx[k] >= idx[k - 1], "systematic indices are sorted");
            }
          }
          for (int i = 0; i < PROBS.length; i++) {
            assertTrue(
                Math.abs(counts[i] - m * PROBS[i]) < 1 + 1e-9,
                "m=" + m + " counts " + Arrays.toString(counts));
          }
        }
      }
    }
  }

  @Test
  void resampleRefusesDegenerateWeights() {
    double ninf = Double.NEGATIVE_INFINITY;
    try (Tensor lw = doubles(ops, 2, 1, ninf, ninf);
        Tensor out = ops.allocate(2, 1, DType.I32)) {
      refused("logWeights", () -> ops.resample(lw, Resampling.SYSTEMATIC, 1, 1, out));
      refused("scheme", () -> ops.resample(lw, null, 1, 1, out));
    }
  }

  // ---- shape and dtype errors name the argument ----

  @Test
  void shapeAndDtypeErrorsNameTheArgument() {
    try (Tensor x = ops.allocate(2, 3, DType.F32);
        Tensor u = ops.allocate(2, 4, DType.F32);
        Tensor wide = ops.allocate(3, 3, DType.F32);
        Tensor ints = ops.allocate(2, 3, DType.I32);
        Tensor c = coefs(ops, 2, 1, 0, 0);
        Tensor c32 = ops.allocate(2, 3, DType.F32);
        Tensor c2 = ops.allocate(2, 2, DType.F64);
        Tensor ids = ops.allocate(3, 1, DType.I32);
        Tensor f64col = ops.allocate(2, 1, DType.F64);
        Tensor f64wide = ops.allocate(2, 2, DType.F64);
        Tensor i32col = ops.allocate(2, 1, DType.I32)) {
      refused("u must have x's shape", () -> ops.affine(x, u, c, null, x));
      refused("out must have x's shape", () -> ops.affine(x, null, c, null, wide));
      refused("x must be F32 or BF16", () -> ops.affine(ints, null, c, null, x));
      refused("out must be F32 or BF16", () -> ops.affine(x, null, c, null, ints));
      refused("coef must be F64", () -> ops.affine(x, null, c32, null, x));
      refused("coef must be [2 x 3]", () -> ops.affine(x, null, c2, null, x));
      refused("x must not be null", () -> ops.affine(null, null, c, null, x));
      refused("noise.ids must have 2 rows", () -> ops.affine(x, null, c, new Noise(1, 1, ids), x));
      refused("noise ids", () -> new Noise(1, 1, f64col));
      refused("noise must not be null", () -> ops.gaussian(null, x));
      refused("out must be F32 or BF16", () -> ops.gaussian(new Noise(1, 1, null), ints));
      refused("dst must have src's shape", () -> ops.copy(x, u));
      refused("dst must be F32", () -> ops.copy(x, ints));
      refused("index must be I32", () -> ops.gather(x, f64col, x));
      refused("index must be [2 x 1]", () -> ops.gather(x, ids, x));
      refused("dst must have 3 columns", () -> ops.gather(x, i32col, u));
      refused("values must be F64", () -> ops.logSumExp(i32col));
      refused("values must have one column", () -> ops.logSumExp(f64wide));
      refused("logWeights must have one column", () -> ops.effectiveSampleSize(f64wide));
      refused("outIndex must be I32", () -> ops.groupArgmax(f64col, 1, f64col));
      refused(
          "outIndex must be I32", () -> ops.resample(f64col, Resampling.MULTINOMIAL, 1, 1, f64col));
      try (Arena small = Arena.ofConfined()) {
        var seg = small.allocate(4);
        refused("src holds 4 bytes, needs 24", () -> ops.upload(seg, x));
        refused("dst holds 4 bytes, needs 24", () -> ops.download(x, seg));
      }
    }
  }

  @Test
  void closedTensorsAreRefused() {
    Tensor x = ops.allocate(1, 1, DType.F32);
    x.close();
    x.close(); // idempotent
    var e = assertThrows(IllegalStateException.class, () -> ops.copy(x, x));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void backendIsFoundByName() {
    try (ParticleOps cpu = Backends.create("cpu")) {
      assertEquals("cpu", cpu.name());
      assertTrue(cpu instanceof CpuParticleOps);
    }
    refused("unknown particle backend 'tpu'", () -> Backends.create("tpu"));
    assertNotEquals(0, Backends.providers().size());
  }
}
