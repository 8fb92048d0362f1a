package org.flowscale.bench.gpu;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.flowscale.bindings.cuda.CudaEvent;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.kernels.CapturedWork;
import org.flowscale.kernels.CountedNoise;
import org.flowscale.kernels.CudaParticleOps;
import org.flowscale.kernels.StreamCounter;

/**
 * The GPU check's measurements: each particle operation's achieved bandwidth as a fraction of a
 * device-to-device copy of the same bytes measured in the same run, and the time of one RBF round
 * of particle work without the model (proposal affine with noise, Tweedie affine, per-chain argmax
 * and gather of the selected particles), eagerly and as a CUDA graph whose replays draw fresh noise
 * from a device stream counter. Prints a Markdown table last.
 *
 * <p>Bytes counted per operation are the ideal traffic: every input element read once, every output
 * element written once (the Philox noise is computed, not read).
 */
public final class CudaBench {
  private static final double TARGET_MS = 60;

  /** Cap on repetitions per measurement; lowered only to smoke-test the benchmark itself. */
  private static final int MAX_REPS = Integer.getInteger("flowscale.bench.maxReps", 20000);

  private final CudaParticleOps ops;
  private final CudaEvent start;
  private final CudaEvent end;
  private final Random rnd = new Random(1);
  private final List<String> rows = new ArrayList<>();
  private final List<Tensor> open = new ArrayList<>();

  private CudaBench(CudaParticleOps ops) {
    this.ops = ops;
    this.start = CudaEvent.create();
    this.end = CudaEvent.create();
  }

  public static void main(String[] args) {
    var why = new org.flowscale.kernels.CudaParticleOpsProvider().unavailableReason();
    if (why.isPresent()) {
      System.err.println("CudaBench: the cuda backend cannot run here: " + why.get());
      System.exit(1);
    }
    try (CudaParticleOps ops = new CudaParticleOps(0)) {
      CudaBench b = new CudaBench(ops);
      try {
        b.run();
      } finally {
        b.close();
      }
    }
  }

  private void close() {
    for (Tensor t : open) {
      t.close();
    }
    start.close();
    end.close();
  }

  private void run() {
    System.out.println("device: " + ops.device() + ", " + Instant.now());
    Tensor big = tensor(64 << 20, 1, DType.F32); // 256 MiB
    Tensor big2 = tensor(64 << 20, 1, DType.F32);
    double peakUs = gpuMicros(() -> ops.copy(big, big2));
    double peak = 2.0 * big.byteSize() / (peakUs * 1e-6) / 1e9;
    System.out.printf(
        Locale.ROOT, "device-to-device copy, 256 MiB: %.0f GB/s (read + write)%n", peak);
    big.close();
    big2.close();
    open.remove(big);
    open.remove(big2);

    rows.add("| operation | particles x state | dtype | us / call | GB/s | of copy |");
    rows.add("|---|---|---|---:|---:|---:|");
    int[][] shapes = {{64, 4096 * 64}, {1024, 64}};
    String[] labels = {"64 x [4096 x 64]", "1024 x 64"};
    List<String> rounds = new ArrayList<>();
    rounds.add(
        "| RBF round (no model) | particles x state | dtype | eager us / round | graph us / round |");
    rounds.add("|---|---|---|---:|---:|");
    for (int s = 0; s < shapes.length; s++) {
      for (DType dt : List.of(DType.F32, DType.BF16)) {
        measureOps(shapes[s][0], shapes[s][1], dt, labels[s]);
        rounds.add(measureRound(shapes[s][0], shapes[s][1], dt, labels[s]));
      }
    }
    measureScalars(64);
    measureScalars(1024);

    System.out.println();
    System.out.printf(
        Locale.ROOT,
        "## CUDA particle operations: %s, %s%n%n",
        ops.device().name(),
        java.time.LocalDate.now());
    System.out.printf(
        Locale.ROOT,
        "Device-to-device copy (256 MiB, read + write): %.0f GB/s. \"of copy\" compares with a copy"
            + " of the operation's own state tensor in the same run.%n%n",
        peak);
    rows.forEach(System.out::println);
    System.out.println();
    rounds.forEach(System.out::println);
    System.out.println();
    System.out.println(
        "Both forms draw fresh proposal noise every round: eagerly a new Noise stream per call; as a"
            + " graph through a device stream counter that the graph advances on the device"
            + " (replays checked bit for bit against eager streams base + k in this run).");
  }

  private void measureOps(int n, int d, DType dt, String label) {
    Tensor x = random(n, d, dt);
    Tensor u = random(n, d, dt);
    Tensor out = tensor(n, d, dt);
    Tensor copyDst = tensor(n, d, dt);
    Tensor stepCoef = coef(n, false, true);
    Tensor fullCoef = coef(n, true, true);
    Tensor tweedieCoef = coef(n, true, false);
    Tensor perm = permutation(n);
    long bytes = x.byteSize();
    double copyUs = gpuMicros(() -> ops.copy(x, copyDst));
    double copyBw = 2.0 * bytes / (copyUs * 1e-6) / 1e9;
    row("copy (reference)", label, dt, copyUs, 2 * bytes, copyBw);
    Noise noise = new Noise(5, 9, null);
    row("gaussian", label, dt, gpuMicros(() -> ops.gaussian(noise, out)), bytes, copyBw);
    row(
        "affine: SDE step (x, noise)",
        label,
        dt,
        gpuMicros(() -> ops.affine(x, null, stepCoef, noise, out)),
        2 * bytes,
        copyBw);
    row(
        "affine: SDE step (x, u, noise)",
        label,
        dt,
        gpuMicros(() -> ops.affine(x, u, fullCoef, noise, out)),
        3 * bytes,
        copyBw);
    row(
        "affine: Tweedie / ODE (x, u)",
        label,
        dt,
        gpuMicros(() -> ops.affine(x, u, tweedieCoef, null, out)),
        3 * bytes,
        copyBw);
    row(
        "gather (permutation)",
        label,
        dt,
        gpuMicros(() -> ops.gather(x, perm, out)),
        2 * bytes + 4L * n,
        copyBw);
    ops.synchronize();
  }

  private void measureScalars(int n) {
    Tensor w = tensor(n, 1, DType.F64);
    upload(w, randomDoubles(n));
    Tensor best = tensor(2, 1, DType.I32);
    Tensor idx = tensor(n, 1, DType.I32);
    String label = n + " x 1 (F64)";
    rows.add(
        String.format(
            Locale.ROOT,
            "| groupArgmax (2 groups) | %s | F64 | %.1f | | |",
            label,
            gpuMicros(() -> ops.groupArgmax(w, n / 2, best))));
    rows.add(
        String.format(
            Locale.ROOT,
            "| resample multinomial | %s | F64 | %.1f | | |",
            label,
            gpuMicros(() -> ops.resample(w, Resampling.MULTINOMIAL, 1, 2, idx))));
    rows.add(
        String.format(
            Locale.ROOT,
            "| resample systematic | %s | F64 | %.1f | | |",
            label,
            gpuMicros(() -> ops.resample(w, Resampling.SYSTEMATIC, 1, 2, idx))));
    rows.add(
        String.format(
            Locale.ROOT,
            "| logSumExp (incl. sync + read) | %s | F64 | %.1f | | |",
            label,
            wallMicros(() -> ops.logSumExp(w))));
    rows.add(
        String.format(
            Locale.ROOT,
            "| ESS (incl. sync + read) | %s | F64 | %.1f | | |",
            label,
            wallMicros(() -> ops.effectiveSampleSize(w))));
  }

  /** One RBF round of particle work for 2 chains, without the model. */
  private String measureRound(int n, int d, DType dt, String label) {
    Tensor x = random(n, d, dt);
    Tensor u = random(n, d, dt); // stands in for the model's velocity
    Tensor next = tensor(n, d, dt);
    Tensor x0 = tensor(n, d, dt);
    Tensor step = coef(n, true, true);
    Tensor tweedie = coef(n, true, false);
    Tensor rewards = tensor(n, 1, DType.F64);
    upload(rewards, randomDoubles(n));
    Tensor best = tensor(2, 1, DType.I32);
    Tensor chosen = tensor(2, d, dt);
    long seed = 3;
    long[] eagerStream = {4};
    // Each round draws its proposal noise from a fresh stream, eagerly and as a graph.
    Runnable eagerRound =
        () -> {
          ops.affine(x, u, step, new Noise(seed, eagerStream[0]++, null), next); // proposal
          ops.affine(next, u, tweedie, null, x0); // Tweedie estimate of the clean sample
          ops.groupArgmax(rewards, n / 2, best); // selection per chain
          ops.gather(next, best, chosen);
        };
    double eager = wallMicros(eagerRound);
    double graph;
    try (StreamCounter streams = ops.streamCounter(1000);
        CapturedWork g =
            ops.capture(
                streams,
                1,
                () -> {
                  ops.affineCounted(x, u, step, new CountedNoise(seed, streams, 0, null), next);
                  ops.affine(next, u, tweedie, null, x0);
                  ops.groupArgmax(rewards, n / 2, best);
                  ops.gather(next, best, chosen);
                })) {
      long[] replays = {0};
      graph =
          wallMicros(
              () -> {
                g.launch();
                replays[0]++;
              });
      if (streams.value() != 1000 + replays[0]) {
        throw new IllegalStateException(
            "the graph advanced its stream counter to "
                + streams.value()
                + " after "
                + replays[0]
                + " replays from 1000");
      }
      checkReplayNoise(g, streams, x, u, step, seed, next, label + " " + dt);
    }
    return String.format(
        Locale.ROOT,
        "| proposal + Tweedie + select | %s | %s | %.1f | %.1f |",
        label,
        dt,
        eager,
        graph);
  }

  /**
   * Replays k = 0, 1 from a chosen base must leave exactly the proposal of eager streams base and
   * base + 1 (bit for bit), so the timed graph really draws fresh, addressed noise on every replay.
   */
  private void checkReplayNoise(
      CapturedWork g,
      StreamCounter streams,
      Tensor x,
      Tensor u,
      Tensor step,
      long seed,
      Tensor next,
      String what) {
    long base = rnd.nextLong();
    Tensor eager = tensor(next.rows(), next.cols(), next.dtype());
    try (Arena a = Arena.ofConfined()) {
      MemorySegment want = a.allocate(next.byteSize(), 64);
      MemorySegment got = a.allocate(next.byteSize(), 64);
      MemorySegment previous = a.allocate(next.byteSize(), 64);
      streams.set(base);
      for (int k = 0; k < 2; k++) {
        g.launch();
        ops.affine(x, u, step, new Noise(seed, base + k, null), eager);
        ops.download(next, got);
        ops.download(eager, want);
        if (got.mismatch(want) != -1) {
          throw new IllegalStateException(
              what + ": graph replay " + k + " does not draw the eager stream base + " + k);
        }
        if (k > 0 && got.mismatch(previous) == -1) {
          throw new IllegalStateException(what + ": graph replay " + k + " repeats its noise");
        }
        MemorySegment.copy(got, 0, previous, 0, next.byteSize());
      }
    }
    open.remove(eager);
    eager.close();
    System.out.println(
        "graph replay noise, " + what + ": replays 0, 1 draw eager streams base, base + 1 (exact)");
  }

  private void row(String op, String label, DType dt, double us, long bytes, double copyBw) {
    double bw = bytes / (us * 1e-6) / 1e9;
    rows.add(
        String.format(
            Locale.ROOT,
            "| %s | %s | %s | %.1f | %.0f | %.0f%% |",
            op,
            label,
            dt,
            us,
            bw,
            100 * bw / copyBw));
  }

  /** Device time per call (events around back-to-back calls on the stream). */
  private double gpuMicros(Runnable op) {
    for (int i = 0; i < 3; i++) {
      op.run();
    }
    ops.synchronize();
    int reps = Math.min(5, MAX_REPS);
    while (true) {
      start.record(ops.stream());
      for (int i = 0; i < reps; i++) {
        op.run();
      }
      end.record(ops.stream());
      double ms = start.elapsedMillisTo(end);
      if (ms >= TARGET_MS || reps >= MAX_REPS) {
        ops.synchronize();
        return ms * 1000 / reps;
      }
      reps =
          (int)
              Math.min(
                  MAX_REPS, Math.max(reps * 2L, (long) (reps * TARGET_MS / Math.max(ms, 1e-3))));
    }
  }

  /** Host wall-clock time per call, including launch overhead and a final synchronisation. */
  private double wallMicros(Runnable op) {
    for (int i = 0; i < 5; i++) {
      op.run();
    }
    ops.synchronize();
    int reps = Math.min(10, MAX_REPS);
    while (true) {
      long t0 = System.nanoTime();
      for (int i = 0; i < reps; i++) {
        op.run();
      }
      ops.synchronize();
      double ms = (System.nanoTime() - t0) / 1e6;
      if (ms >= TARGET_MS || reps >= MAX_REPS) {
        return ms * 1000 / reps;
      }
      reps =
          (int)
              Math.min(
                  MAX_REPS, Math.max(reps * 2L, (long) (reps * TARGET_MS / Math.max(ms, 1e-3))));
    }
  }

  private Tensor tensor(int rows, int cols, DType dt) {
    Tensor t = ops.allocate(rows, cols, dt);
    open.add(t);
    return t;
  }

  private Tensor random(int rows, int cols, DType dt) {
    Tensor t = tensor(rows, cols, dt);
    long n = t.elements();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(t.byteSize(), 64);
      for (long i = 0; i < n; i++) {
        float f = (float) rnd.nextGaussian();
        if (dt == DType.F32) {
          s.setAtIndex(JAVA_FLOAT, i, f);
        } else {
          s.setAtIndex(JAVA_SHORT, i, DType.toBf16(f));
        }
      }
      ops.upload(s, t);
    }
    return t;
  }

  private Tensor coef(int n, boolean withU, boolean withNoise) {
    Tensor t = tensor(n, 3, DType.F64);
    double[] v = new double[3 * n];
    for (int i = 0; i < n; i++) {
      v[3 * i] = 0.99;
      v[3 * i + 1] = withU ? -0.02 : 0;
      v[3 * i + 2] = withNoise ? 0.1 : 0;
    }
    upload(t, v);
    return t;
  }

  private Tensor permutation(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    Tensor t = tensor(n, 1, DType.I32);
    try (Arena a = Arena.ofConfined()) {
      ops.upload(a.allocateFrom(JAVA_INT, p), t);
    }
    return t;
  }

  private double[] randomDoubles(int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = rnd.nextGaussian();
    }
    return v;
  }

  private void upload(Tensor t, double[] v) {
    try (Arena a = Arena.ofConfined()) {
      ops.upload(a.allocateFrom(JAVA_DOUBLE, v), t);
    }
  }
}
