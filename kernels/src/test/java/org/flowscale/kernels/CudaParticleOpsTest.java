package org.flowscale.kernels;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.flowscale.bindings.cuda.EmulatedDriver;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every CUDA operation against the CPU reference on fresh random inputs, with GPU outputs poisoned
 * (all-ones bits: NaN) before each run so an unwritten element can never pass. Needs a GPU, or the
 * emulated driver (a test fixture) named by -Dflowscale.cuda.driver as bin/test does; elsewhere
 * each test is reported as skipped with the reason.
 */
class CudaParticleOpsTest {
  static final double F32_TOL = 1e-5;
  static final double BF16_TOL = 1e-2;

  private static CudaParticleOps gpu;
  private static final CpuParticleOps cpu = new CpuParticleOps();

  private final long seed = System.nanoTime();
  private final Random rnd = new Random(seed);
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void needsGpu() {
    EmulatedDriver.assumeUsable(new CudaParticleOpsProvider().unavailableReason());
    if (gpu == null) {
      gpu = new CudaParticleOps(CudaParticleOpsProvider.ordinal());
    }
  }

  @AfterEach
  void closeTensors() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
    open.clear();
  }

  @AfterAll
  static void closeBackend() {
    if (gpu != null) {
      gpu.close();
      gpu = null;
    }
  }

  // ---- the operations against the CPU ----

  @Test
  void gaussianMatchesCpu() {
    for (DType dt : List.of(DType.F32, DType.BF16)) {
      for (int[] shape : new int[][] {{64, 4096}, {33, 1001}, {5, 3}, {1024, 64}}) {
        for (boolean withIds : new boolean[] {false, true}) {
          Pair ids = withIds ? ids(shape[0]) : null;
          Noise nc = new Noise(rnd.nextLong(), rnd.nextLong(), ids == null ? null : ids.c);
          Noise ng = new Noise(nc.seed(), nc.stream(), ids == null ? null : ids.g);
          Pair out = output(shape[0], shape[1], dt);
          cpu.gaussian(nc, out.c);
          gpu.gaussian(ng, out.g);
          // The kernel evaluates BoxMullerF32's float sequence: the CPU backend's draws, bit
          // for bit (HostMathTest checks the same on the host build of the kernel).
          assertBitsEqual(
              values(cpu, out.c), values(gpu, out.g), "gaussian " + dt + " " + str(shape));
        }
      }
    }
  }

  @Test
  void affineMatchesCpuForEveryOperandCombination() {
    for (DType dt : List.of(DType.F32, DType.BF16)) {
      for (int[] shape : new int[][] {{64, 4096}, {37, 1001}, {1024, 64}, {3, 2}}) {
        for (int combo = 0; combo < 4; combo++) {
          boolean withU = (combo & 1) != 0;
          boolean withNoise = (combo & 2) != 0;
          int rows = shape[0];
          int cols = shape[1];
          Pair x = random(rows, cols, dt);
          Pair u = withU ? random(rows, cols, dt) : null;
          Pair coef = coefficients(rows, withU, withNoise);
          Pair ids = withNoise && rnd.nextBoolean() ? ids(rows) : null;
          Noise nc = null;
          Noise ng = null;
          if (withNoise) {
            nc = new Noise(rnd.nextLong(), rnd.nextLong(), ids == null ? null : ids.c);
            ng = new Noise(nc.seed(), nc.stream(), ids == null ? null : ids.g);
          }
          Pair out = output(rows, cols, dt);
          cpu.affine(x.c, u == null ? null : u.c, coef.c, nc, out.c);
          gpu.affine(x.g, u == null ? null : u.g, coef.g, ng, out.g);
          String what = "affine " + dt + " " + str(shape) + " u=" + withU + " noise=" + withNoise;
          // The GPU rounds exactly like the CPU, and draws the same noise: bit for bit.
          assertBitsEqual(values(cpu, out.c), values(gpu, out.g), what);
          // In place: out is x.
          cpu.affine(x.c, u == null ? null : u.c, coef.c, nc, x.c);
          gpu.affine(x.g, u == null ? null : u.g, coef.g, ng, x.g);
          assertBitsEqual(values(cpu, x.c), values(gpu, x.g), what + " in place");
        }
      }
    }
  }

  @Test
  void gatherMatchesCpuForEveryRowWidth() {
    // Row bytes 256 (16-byte units), 12 (4), 8 (8), 2 (2), 8 (F64), 20 (I32), 130 (BF16: 2).
    Object[][] cases = {
      {DType.F32, 64}, {DType.F32, 3}, {DType.F32, 2}, {DType.BF16, 1},
      {DType.F64, 1}, {DType.I32, 5}, {DType.BF16, 65}, {DType.BF16, 4096}
    };
    for (Object[] c : cases) {
      DType dt = (DType) c[0];
      int cols = (int) c[1];
      int srcRows = 50;
      int dstRows = 77;
      Pair src = random(srcRows, cols, dt);
      Pair index = indices(dstRows, srcRows);
      Pair dst = output(dstRows, cols, dt);
      cpu.gather(src.c, index.c, dst.c);
      gpu.gather(src.g, index.g, dst.g);
      assertArrayEquals(values(cpu, dst.c), values(gpu, dst.g), "gather " + dt + " x" + cols);
      // In place (src is dst): must read the rows before any is overwritten.
      Pair perm = indices(srcRows, srcRows);
      cpu.gather(src.c, perm.c, src.c);
      gpu.gather(src.g, perm.g, src.g);
      assertArrayEquals(values(cpu, src.c), values(gpu, src.g), "gather in place " + dt);
    }
  }

  @Test
  void groupArgmaxMatchesCpuIncludingNanTiesAndInfinities() {
    for (int groupSize : new int[] {1, 7, 25, 32, 33, 64, 100}) {
      int groups = 1 + rnd.nextInt(40);
      int n = groups * groupSize;
      double[] v = new double[n];
      for (int i = 0; i < n; i++) {
        v[i] =
            switch (rnd.nextInt(10)) {
              case 0 -> Double.NaN;
              case 1 -> Double.NEGATIVE_INFINITY;
              case 2 -> 1.5; // ties
              case 3 -> -0.0;
              default -> rnd.nextGaussian();
            };
      }
      // One group all NaN, one all tied, one all -inf.
      for (int i = 0; i < groupSize; i++) {
        v[i] = Double.NaN;
        if (groups > 1) {
          v[groupSize + i] = 2.0;
        }
        if (groups > 2) {
          v[2 * groupSize + i] = Double.NEGATIVE_INFINITY;
        }
      }
      Pair values = f64(v);
      Pair out = output(groups, 1, DType.I32);
      cpu.groupArgmax(values.c, groupSize, out.c);
      gpu.groupArgmax(values.g, groupSize, out.g);
      assertArrayEquals(values(cpu, out.c), values(gpu, out.g), "groupArgmax size " + groupSize);
    }
  }

  @Test
  void logSumExpAndEssMatchCpu() {
    for (int n : new int[] {1, 2, 25, 1000, 1025, 5000}) {
      double[] v = new double[n];
      for (int i = 0; i < n; i++) {
        v[i] = rnd.nextInt(8) == 0 && i > 0 ? Double.NEGATIVE_INFINITY : 50 * rnd.nextGaussian();
      }
      Pair p = f64(v);
      double lc = cpu.logSumExp(p.c);
      double lg = gpu.logSumExp(p.g);
      assertEquals(lc, lg, 1e-12 * Math.max(1, Math.abs(lc)), "logSumExp n=" + n + " seed " + seed);
      double ec = cpu.effectiveSampleSize(p.c);
      double eg = gpu.effectiveSampleSize(p.g);
      assertEquals(ec, eg, 1e-10 * ec, "ESS n=" + n + " seed " + seed);
    }
    assertTrue(Double.isNaN(gpu.logSumExp(f64(new double[] {1, Double.NaN, 2}).g)));
    assertEquals(
        Double.NEGATIVE_INFINITY,
        gpu.logSumExp(f64(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY}).g));
    assertEquals(
        Double.POSITIVE_INFINITY, gpu.logSumExp(f64(new double[] {3, Double.POSITIVE_INFINITY}).g));
    assertEquals(Double.NEGATIVE_INFINITY, gpu.logSumExp(output(0, 1, DType.F64).g));
    Pair allNegInf = f64(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY});
    var e =
        assertThrows(IllegalArgumentException.class, () -> gpu.effectiveSampleSize(allNegInf.g));
    assertTrue(e.getMessage().contains("logWeights"), e.getMessage());
  }

  @Test
  void resamplingDrawsTheCpusIndices() {
    for (Resampling scheme : Resampling.values()) {
      for (int n : new int[] {1, 25, 1000, 3000}) {
        for (int m : new int[] {n, 7}) {
          double[] v = new double[n];
          for (int i = 0; i < n; i++) {
            v[i] =
                rnd.nextInt(10) == 0 && i > 0 ? Double.NEGATIVE_INFINITY : 3 * rnd.nextGaussian();
          }
          Pair w = f64(v);
          Pair out = output(m, 1, DType.I32);
          long s = rnd.nextLong();
          long st = rnd.nextLong();
          cpu.resample(w.c, scheme, s, st, out.c);
          gpu.resample(w.g, scheme, s, st, out.g);
          assertArrayEquals(
              values(cpu, out.c),
              values(gpu, out.g),
              scheme + " n=" + n + " m=" + m + " seed " + seed);
        }
      }
    }
  }

  /**
   * The resampler never draws a particle of weight 0, as the CPU never does. The log-weights were
   * constructed (src/test/cuda/zero_weight_draw.cpp) so that the kernel's chunked CDF before the
   * fix gave particle 23 (weight 0) a one-ulp slice of [0, total), and draw 24747 of seed 20251127,
   * stream 8804 landed in it: exactly so with the host's exp and log (the emulated driver); a GPU
   * rounds exp differently, where the case only checks that nothing else changed.
   */
  @Test
  void resamplingNeverDrawsAParticleOfWeightZero() {
    double ninf = Double.NEGATIVE_INFINITY;
    double[] v = {
      -0x1.f68d0ef542cf4p+4,
      -0x1.2a58d4fa64a61p+5,
      ninf,
      -0x1.ca208accd5a84p+0,
      -0x1.16566e4f52861p+0,
      -0x1.1235211ba135fp+5,
      -0x1.19904f349c118p+5,
      -0x1.08861addee0b6p+5,
      -0x1.1022efcc97e2p+5,
      ninf,
      ninf,
      ninf,
      -0x1.07c113c100995p+5,
      -0x1.59ec9668bb54bp-2,
      -0x1.0a59156526dcbp-5,
      -0x1.01639e5c7ec7dp+5,
      -0x1.2dee4711519bdp+5,
      ninf,
      -0x1.27971a50ba32ep+5,
      -0x1.a6aff1fc942fdp-1,
      ninf,
      -0x1.37442465a001dp+5,
      -0x1.3c7c486e0133ep+5,
      ninf,
      -0x1.f25fbf8345fdfp-6,
      -0x1.4e8f8f2ac3b89p-3,
      -0x1.f9d598886ab28p+4,
      0x0p+0,
      ninf
    };
    Pair w = f64(v);
    int m = 65536;
    for (Resampling scheme : Resampling.values()) {
      Pair out = output(m, 1, DType.I32);
      gpu.resample(w.g, scheme, 20251127, 8804, out.g);
      cpu.resample(w.c, scheme, 20251127, 8804, out.c);
      double[] got = values(gpu, out.g);
      double[] want = values(cpu, out.c);
      int differ = 0;
      for (int k = 0; k < m; k++) {
        int i = (int) got[k];
        assertTrue(v[i] != ninf, scheme + " draw " + k + " picked particle " + i + ", of weight 0");
        differ += got[k] == want[k] ? 0 : 1;
      }
      // Away from a rounding gap the GPU draws what the CPU draws.
      assertTrue(differ <= 1, scheme + ": " + differ + " draws differ from the CPU's");
    }
  }

  /**
   * Rows of fewer than 32 units (state 64: 16 groups of 4 columns) get blocks as wide as the row,
   * so a warp covers several rows instead of idling half its lanes. Reads the launch shapes from
   * the emulated driver.
   */
  @Test
  void shortRowsAreLaunchedWithBlocksAsWideAsTheRow() {
    assumeTrue(EmulatedDriver.active(), "launch shapes are read from the emulated driver");
    Pair x = random(100, 64, DType.F32);
    Pair coef = coefficients(100, false, false);
    Pair out = output(100, 64, DType.F32);
    gpu.affine(x.g, null, coef.g, null, out.g);
    assertBlock("fs_affine_f32", 16);
    Pair z = output(100, 8, DType.BF16);
    gpu.gaussian(new Noise(1, 2, null), z.g);
    assertBlock("fs_gaussian_bf16", 2);
    Pair src = random(10, 16, DType.F32); // 64-byte rows: 4 units of 16 bytes
    Pair dst = output(100, 16, DType.F32);
    gpu.gather(src.g, indices(100, 10).g, dst.g);
    assertBlock("fs_gather_16", 4);
    Pair one = output(100, 4, DType.F32); // one group per row
    gpu.gaussian(new Noise(1, 2, null), one.g);
    assertBlock("fs_gaussian_f32", 1);
    Pair wide = output(3, 4096, DType.F32); // 1024 groups: full-width blocks
    gpu.gaussian(new Noise(1, 2, null), wide.g);
    assertBlock("fs_gaussian_f32", 256);
    gpu.synchronize();
  }

  private static void assertBlock(String kernel, int x) {
    int[] d = EmulatedDriver.lastLaunch(kernel);
    assertTrue(d != null, kernel + " was never launched");
    String shape = kernel + ": block (" + d[3] + ", " + d[4] + ", " + d[5] + ")";
    assertEquals(x, d[3], shape);
    assertEquals(256, d[3] * d[4] * d[5], shape);
  }

  @Test
  void copyUploadDownloadRoundTrip() {
    Pair a = random(19, 33, DType.BF16);
    Pair b = output(19, 33, DType.BF16);
    gpu.copy(a.g, b.g);
    assertArrayEquals(values(cpu, a.c), values(gpu, b.g));
    // Heap segments work too (staged through native memory).
    float[] heap = new float[12];
    for (int i = 0; i < heap.length; i++) {
      heap[i] = i - 3.5f;
    }
    Tensor t = track(gpu.allocate(3, 4, DType.F32));
    gpu.upload(MemorySegment.ofArray(heap), t);
    float[] back = new float[12];
    gpu.download(t, MemorySegment.ofArray(back));
    assertArrayEquals(heap, back);
    CudaTensor ct = (CudaTensor) t;
    assertNotEquals(0, ct.address());
    assertEquals(gpu.deviceIndex(), ct.deviceIndex());
  }

  // ---- errors ----

  @Test
  void badShapesAndTypesThrowAtTheCall() {
    Pair x = random(4, 8, DType.F32);
    Pair y = random(4, 7, DType.F32);
    Pair xb = random(4, 8, DType.BF16);
    Pair coef = coefficients(4, true, false);
    Pair coefBad = coefficients(3, true, false);
    Pair idx = indices(5, 4);
    Pair col = f64(new double[] {1, 2, 3, 4});
    Pair i32 = output(2, 1, DType.I32);
    List<Runnable> bad =
        List.of(
            () -> gpu.affine(x.g, null, coef.g, null, y.g),
            () -> gpu.affine(x.g, y.g, coef.g, null, x.g),
            () -> gpu.affine(x.g, xb.g, coef.g, null, x.g),
            () -> gpu.affine(x.g, null, coefBad.g, null, x.g),
            () -> gpu.affine(i32.g, null, coef.g, null, i32.g),
            () -> gpu.gaussian(null, x.g),
            () -> gpu.gather(x.g, idx.g, y.g),
            () -> gpu.gather(x.g, col.g, output(4, 8, DType.F32).g),
            () -> gpu.groupArgmax(col.g, 3, i32.g),
            () -> gpu.groupArgmax(col.g, 2, output(3, 1, DType.I32).g),
            () -> gpu.logSumExp(x.g),
            () -> gpu.resample(col.g, null, 1, 2, i32.g),
            () -> gpu.upload(Arena.ofAuto().allocate(4), x.g),
            () -> gpu.copy(x.g, y.g),
            () -> gpu.affine(x.c, null, coef.g, null, x.g),
            () -> gpu.allocate(-1, 3, DType.F32));
    for (int i = 0; i < bad.size(); i++) {
      int k = i;
      var e = assertThrows(IllegalArgumentException.class, bad.get(i)::run, () -> "case " + k);
      assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
    }
    Tensor closed = gpu.allocate(2, 2, DType.F32);
    closed.close();
    assertThrows(IllegalStateException.class, () -> gpu.copy(closed, x.g));
    gpu.synchronize(); // nothing above reached the device
  }

  @Test
  void errorsInTheDataAreFoundOnTheDeviceAndRaisedAtTheNextSync() {
    Pair src = random(10, 16, DType.F32);
    Pair dst = output(3, 16, DType.F32);
    Pair index = i32(new int[] {0, 99, 2});
    gpu.gather(src.g, index.g, dst.g);
    var e = assertThrows(IllegalArgumentException.class, gpu::synchronize);
    assertTrue(e.getMessage().contains("index[1] = 99"), e.getMessage());

    Pair out = output(3, 8, DType.F32);
    gpu.gaussian(new Noise(1, 2, i32(new int[] {0, -5, 1}).g), out.g);
    e = assertThrows(IllegalArgumentException.class, gpu::synchronize);
    assertTrue(e.getMessage().contains("noise.ids[1]"), e.getMessage());

    Pair x = random(3, 8, DType.F32);
    gpu.affine(x.g, null, coef(1, 0, 0, 1, 0.5, 0, 1, 0, 0).g, null, out.g);
    e = assertThrows(IllegalArgumentException.class, gpu::synchronize);
    assertTrue(e.getMessage().contains("u is null but coef[1, 1]"), e.getMessage());

    gpu.affine(x.g, null, coef(1, 0, 0, 1, 0, 0, 1, 0, 0.25).g, null, out.g);
    e = assertThrows(IllegalArgumentException.class, () -> gpu.download(out.g, host(out.g)));
    assertTrue(e.getMessage().contains("noise is null but coef[2, 2]"), e.getMessage());

    Pair w = f64(new double[] {Double.NEGATIVE_INFINITY, Double.NaN});
    gpu.resample(w.g, Resampling.MULTINOMIAL, 1, 2, output(2, 1, DType.I32).g);
    e = assertThrows(IllegalArgumentException.class, gpu::synchronize);
    assertTrue(e.getMessage().contains("logWeights"), e.getMessage());

    // The backend is still usable and the error was cleared.
    gpu.synchronize();
    gpu.gaussian(new Noise(1, 2, null), out.g);
    gpu.synchronize();
    if (EmulatedDriver.active()) {
      // The kernels' error record is device memory: no atomic touched host memory.
      assertEquals(null, EmulatedDriver.fault());
    }
  }

  // ---- graphs ----

  @Test
  void aCapturedRoundReplaysTheEagerRound() {
    for (DType dt : List.of(DType.F32, DType.BF16)) {
      int chains = 4;
      int per = 16;
      int rows = chains * per;
      int cols = 1000;
      Pair x0 = random(rows, cols, dt);
      Pair v = random(rows, cols, dt);
      Pair step = coefficients(rows, false, true);
      Pair tweedie = coefficients(rows, true, false);
      Pair rewards = f64(randomDoubles(rows));
      Pair best = output(chains, 1, DType.I32);
      Pair xa = output(rows, cols, dt);
      Pair xb = output(rows, cols, dt);
      Pair x0hat = output(rows, cols, dt);
      Pair chosen = output(chains, cols, dt);
      Runnable round =
          () -> {
            gpu.affine(x0.g, null, step.g, new Noise(7, 11, null), xa.g);
            gpu.affine(xa.g, v.g, tweedie.g, null, x0hat.g);
            gpu.groupArgmax(rewards.g, per, best.g);
            gpu.gather(x0hat.g, best.g, chosen.g);
          };
      round.run();
      double[] eager = values(gpu, chosen.g);
      gpu.poison(chosen.g);
      gpu.poison(x0hat.g);
      try (CapturedWork graph = gpu.capture(round)) {
        graph.launch();
        gpu.synchronize();
        assertArrayEquals(eager, values(gpu, chosen.g), "graph replay " + dt);
        graph.launch();
        graph.launch();
        assertArrayEquals(eager, values(gpu, chosen.g), "graph replayed thrice " + dt);
      }
      // And the CPU agrees with the round.
      cpu.affine(x0.c, null, step.c, new Noise(7, 11, null), xb.c);
      cpu.affine(xb.c, v.c, tweedie.c, null, x0hat.c);
      cpu.groupArgmax(rewards.c, per, best.c);
      cpu.gather(x0hat.c, best.c, chosen.c);
      assertClose(chosen, tol(dt), "round " + dt);
    }
  }

  /**
   * The graph-replay form of the noise: a round captured with a stream counter draws fresh noise on
   * every replay, and replay k draws bit for bit what the eager calls with stream base + 2k +
   * offset draw (and the CPU backend agrees with those to float rounding). The base sits just below
   * 2^64 so the replays cross the wrap of the stream's high word.
   */
  @Test
  void aRoundCapturedWithAStreamCounterDrawsEagerStreamBasePlusKOnReplayK() {
    for (DType dt : List.of(DType.F32, DType.BF16)) {
      int chains = 4;
      int per = 16;
      int rows = chains * per;
      int cols = 1001;
      long noiseSeed = rnd.nextLong();
      long base = -3 - rnd.nextInt(2); // 2^64 - 3 or - 4: replays cross the 64-bit wrap
      int perRound = 2;
      Pair x = random(rows, cols, dt);
      Pair ids = ids(rows);
      Pair step = coefficients(rows, false, true);
      Pair w = f64(randomDoubles(rows));
      Pair proposal = output(rows, cols, dt);
      Pair extra = output(rows, cols, dt);
      Pair picks = output(rows, 1, DType.I32);
      Pair eagerProposal = output(rows, cols, dt);
      Pair eagerExtra = output(rows, cols, dt);
      Pair eagerPicks = output(rows, 1, DType.I32);
      try (StreamCounter counter = gpu.streamCounter(base)) {
        CountedNoise stepNoise = new CountedNoise(noiseSeed, counter, 0, ids.g);
        CountedNoise extraNoise = new CountedNoise(noiseSeed, counter, 1, null);
        assertEquals(base, counter.value(), "a new counter holds its initial value");
        try (CapturedWork graph =
            gpu.capture(
                counter,
                perRound,
                () -> {
                  gpu.affineCounted(x.g, null, step.g, stepNoise, proposal.g);
                  gpu.gaussianCounted(extraNoise, extra.g);
                  gpu.resampleCounted(w.g, Resampling.MULTINOMIAL, noiseSeed, counter, 1, picks.g);
                })) {
          assertEquals(base, counter.value(), "recording runs nothing");
          double[] previous = null;
          for (int k = 0; k < 4; k++) {
            gpu.poison(proposal.g);
            gpu.poison(extra.g);
            gpu.poison(picks.g);
            graph.launch();
            long s0 = base + (long) perRound * k;
            gpu.affine(x.g, null, step.g, new Noise(noiseSeed, s0, ids.g), eagerProposal.g);
            gpu.gaussian(new Noise(noiseSeed, s0 + 1, null), eagerExtra.g);
            gpu.resample(w.g, Resampling.MULTINOMIAL, noiseSeed, s0 + 1, eagerPicks.g);
            double[] replayed = values(gpu, proposal.g);
            String what = dt + " replay " + k + " (stream " + Long.toUnsignedString(s0) + ")";
            assertBitsEqual(values(gpu, eagerProposal.g), replayed, what + ": proposal");
            assertBitsEqual(values(gpu, eagerExtra.g), values(gpu, extra.g), what + ": gaussian");
            assertArrayEquals(values(gpu, eagerPicks.g), values(gpu, picks.g), what + ": resample");
            assertEquals(base + (long) perRound * (k + 1), counter.value(), what + ": counter");
            if (previous != null) {
              assertFalse(
                  java.util.Arrays.equals(previous, replayed),
                  what + " repeats the previous replay's noise");
            }
            previous = replayed;
            if (k == 1) {
              cpu.affine(x.c, null, step.c, new Noise(noiseSeed, s0, ids.c), proposal.c);
              assertClose(proposal, tol(dt), what + " against the CPU backend");
            }
          }
          // Rewinding the counter reproduces the first replay.
          counter.set(base);
          graph.launch();
          gpu.affine(x.g, null, step.g, new Noise(noiseSeed, base, ids.g), eagerProposal.g);
          assertBitsEqual(
              values(gpu, eagerProposal.g), values(gpu, proposal.g), dt + " after set(base)");
        }
      }
    }
  }

  @Test
  void aCounterCaptureRejectsNoiseThatWouldRepeatAndTheBackendSurvives() {
    Pair x = random(8, 16, DType.F32);
    Pair step = coefficients(8, false, true);
    Pair out = output(8, 16, DType.F32);
    try (StreamCounter counter = gpu.streamCounter(10);
        StreamCounter other = gpu.streamCounter(20)) {
      var fixed =
          assertThrows(
              IllegalStateException.class,
              () ->
                  gpu.capture(
                      counter,
                      1,
                      () -> gpu.affine(x.g, null, step.g, new Noise(1, 2, null), out.g)));
      assertTrue(fixed.getMessage().contains("fixed stream"), fixed.getMessage());
      var offset =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  gpu.capture(
                      counter,
                      2,
                      () -> gpu.gaussianCounted(new CountedNoise(1, counter, 2, null), out.g)));
      assertTrue(offset.getMessage().contains("outside the round's [0, 2)"), offset.getMessage());
      var foreign =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  gpu.capture(
                      counter,
                      1,
                      () -> gpu.gaussianCounted(new CountedNoise(1, other, 0, null), out.g)));
      assertTrue(foreign.getMessage().contains("other than"), foreign.getMessage());
      var rewind =
          assertThrows(
              IllegalStateException.class, () -> gpu.capture(counter, 1, () -> counter.set(0)));
      assertTrue(rewind.getMessage().contains("rewind"), rewind.getMessage());
      assertThrows(IllegalArgumentException.class, () -> gpu.capture(counter, 0, () -> {}));
      // Nothing ran, nothing moved; eager counted noise reads the counter as it is.
      assertEquals(10, counter.value());
      gpu.advance(counter, 5);
      gpu.gaussianCounted(new CountedNoise(3, counter, 1, null), out.g);
      Pair eager = output(8, 16, DType.F32);
      gpu.gaussian(new Noise(3, 16, null), eager.g);
      assertBitsEqual(values(gpu, eager.g), values(gpu, out.g), "eager counted noise at 15 + 1");
      assertEquals(15, counter.value());
    }
  }

  private static void assertBitsEqual(double[] want, double[] got, String what) {
    assertEquals(want.length, got.length, what + ": length");
    for (int i = 0; i < want.length; i++) {
      if (Double.doubleToRawLongBits(want[i]) != Double.doubleToRawLongBits(got[i])) {
        throw new AssertionError(what + ": element " + i + " is " + got[i] + ", want " + want[i]);
      }
    }
  }

  @Test
  void synchronisingWorkCannotBeCapturedAndTheBackendSurvives() {
    Pair w = f64(new double[] {1, 2});
    var e = assertThrows(IllegalStateException.class, () -> gpu.capture(() -> gpu.logSumExp(w.g)));
    assertTrue(e.getMessage().contains("captured graph"), e.getMessage());
    assertEquals(Math.log(Math.exp(1) + Math.exp(2)), gpu.logSumExp(w.g), 1e-12);
  }

  @Test
  void firstNonFiniteRowMatchesCpu() {
    float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
    for (DType dt : List.of(DType.F32, DType.BF16, DType.F64)) {
      for (int[] shape : new int[][] {{1, 1}, {50, 3072}, {7, 70000}, {70000, 3}, {64, 4096}}) {
        for (int trial = 0; trial < 4; trial++) {
          int rows = shape[0];
          int cols = shape[1];
          long n = (long) rows * cols;
          MemorySegment s = Arena.ofAuto().allocate(n * dt.bytes(), 8);
          for (long i = 0; i < n; i++) {
            put(s, dt, i, (float) rnd.nextGaussian());
          }
          int want = trial == 0 ? -1 : rnd.nextInt(rows);
          if (want >= 0) {
            for (int m = 0; m < 3; m++) {
              int row = m == 0 ? want : want + rnd.nextInt(rows - want);
              put(s, dt, (long) row * cols + rnd.nextInt(cols), bad[m]);
            }
          }
          Pair p = pair(rows, cols, dt, s);
          String what = dt + " [" + rows + " x " + cols + "] seed " + seed;
          assertEquals(want, cpu.firstNonFiniteRow(p.c), "cpu " + what);
          assertEquals(want, gpu.firstNonFiniteRow(p.g), "gpu " + what);
        }
      }
    }
    Pair w = f64(new double[] {1, 2});
    var e =
        assertThrows(
            IllegalStateException.class, () -> gpu.capture(() -> gpu.firstNonFiniteRow(w.g)));
    assertTrue(e.getMessage().contains("captured graph"), e.getMessage());
  }

  private static void put(MemorySegment s, DType dt, long i, float v) {
    switch (dt) {
      case F32 -> s.setAtIndex(JAVA_FLOAT, i, v);
      case BF16 -> s.setAtIndex(JAVA_SHORT, i, DType.toBf16(v));
      default -> s.setAtIndex(JAVA_DOUBLE, i, v);
    }
  }

  // ---- helpers ----

  /** One tensor on each backend with the same contents. */
  record Pair(Tensor c, Tensor g) implements AutoCloseable {
    @Override
    public void close() {
      c.close();
      g.close();
    }
  }

  private <T extends AutoCloseable> T track(T t) {
    open.add(t);
    return t;
  }

  private Pair pair(int rows, int cols, DType dt, MemorySegment contents) {
    Pair p = track(new Pair(cpu.allocate(rows, cols, dt), gpu.allocate(rows, cols, dt)));
    cpu.upload(contents, p.c);
    gpu.upload(contents, p.g);
    return p;
  }

  private Pair random(int rows, int cols, DType dt) {
    long n = (long) rows * cols;
    MemorySegment s = Arena.ofAuto().allocate(Math.max(1, n * dt.bytes()));
    for (long i = 0; i < n; i++) {
      float f = (float) rnd.nextGaussian();
      switch (dt) {
        case F32 -> s.setAtIndex(JAVA_FLOAT, i, f);
        case BF16 -> s.setAtIndex(JAVA_SHORT, i, DType.toBf16(f));
        case F64 -> s.setAtIndex(JAVA_DOUBLE, i, rnd.nextGaussian());
        case I32 -> s.setAtIndex(JAVA_INT, i, rnd.nextInt());
      }
    }
    return pair(rows, cols, dt, s);
  }

  /** CPU output filled with a value the GPU never writes; GPU output poisoned with NaN. */
  private Pair output(int rows, int cols, DType dt) {
    Pair p = track(new Pair(cpu.allocate(rows, cols, dt), gpu.allocate(rows, cols, dt)));
    CpuParticleOps.segment(p.c).fill((byte) 0x5A);
    gpu.poison(p.g);
    return p;
  }

  private Pair f64(double[] v) {
    return pair(v.length, 1, DType.F64, MemorySegment.ofArray(v));
  }

  private Pair i32(int[] v) {
    return pair(v.length, 1, DType.I32, MemorySegment.ofArray(v));
  }

  private Pair coef(double... abc) {
    return pair(abc.length / 3, 3, DType.F64, MemorySegment.ofArray(abc));
  }

  private double[] randomDoubles(int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian();
    }
    return v;
  }

  /** Noise ids: distinct, large and small. */
  private Pair ids(int rows) {
    int[] v = new int[rows];
    for (int i = 0; i < rows; i++) {
      v[i] = rnd.nextBoolean() ? rnd.nextInt(Integer.MAX_VALUE) : i * 3;
    }
    return i32(v);
  }

  private Pair indices(int rows, int bound) {
    int[] v = new int[rows];
    for (int i = 0; i < rows; i++) {
      v[i] = rnd.nextInt(bound);
    }
    return i32(v);
  }

  /** Per-row (a, b, c) with b = 0 without u, c = 0 without noise, and some zero rows of each. */
  private Pair coefficients(int rows, boolean withU, boolean withNoise) {
    double[] v = new double[3 * rows];
    for (int i = 0; i < rows; i++) {
      v[3 * i] = 1 + 0.1 * rnd.nextGaussian();
      v[3 * i + 1] = withU && rnd.nextInt(5) != 0 ? rnd.nextGaussian() : 0;
      v[3 * i + 2] = withNoise && rnd.nextInt(5) != 0 ? 0.3 * rnd.nextDouble() : 0;
    }
    return pair(rows, 3, DType.F64, MemorySegment.ofArray(v));
  }

  private static MemorySegment host(Tensor t) {
    return Arena.ofAuto().allocate(Math.max(1, t.byteSize()), 64);
  }

  /** A tensor's values as doubles (bf16 widened exactly). */
  private static double[] values(ParticleOps ops, Tensor t) {
    MemorySegment s = host(t);
    ops.download(t, s);
    double[] v = new double[(int) t.elements()];
    for (int i = 0; i < v.length; i++) {
      v[i] =
          switch (t.dtype()) {
            case F32 -> s.getAtIndex(JAVA_FLOAT, i);
            case BF16 -> DType.fromBf16(s.getAtIndex(JAVA_SHORT, i));
            case F64 -> s.getAtIndex(JAVA_DOUBLE, i);
            case I32 -> s.getAtIndex(JAVA_INT, i);
          };
    }
    return v;
  }

  /**
   * ||gpu - cpu|| / ||cpu|| below {@code tol}; NaN anywhere in the GPU result where the CPU has a
   * number (a poisoned element never written) fails, whatever the tolerance.
   */
  private void assertClose(Pair p, double tol, String what) {
    double[] c = values(cpu, p.c);
    double[] g = values(gpu, p.g);
    double num = 0;
    double den = 0;
    for (int i = 0; i < c.length; i++) {
      if (Double.isNaN(c[i]) != Double.isNaN(g[i])) {
        throw new AssertionError(
            what + ": element " + i + " is " + g[i] + " on the GPU, " + c[i] + " on the CPU");
      }
      if (!Double.isNaN(c[i])) {
        num += (g[i] - c[i]) * (g[i] - c[i]);
        den += c[i] * c[i];
      }
    }
    double rel = Math.sqrt(num) / Math.max(Math.sqrt(den), Double.MIN_NORMAL);
    assertTrue(
        rel < tol,
        () -> what + ": ||gpu-cpu||/||cpu|| = " + rel + " >= " + tol + " (seed " + seed + ")");
  }

  private static double tol(DType dt) {
    return dt == DType.F32 ? F32_TOL : BF16_TOL;
  }

  private static String str(int[] shape) {
    return "[" + shape[0] + " x " + shape[1] + "]";
  }
}
