package org.flowscale.bench.gpu;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 *
 * <p>Usage: {@code CudaBench [--out DIR] [--seconds N] [--quick]}. Each row is printed and appended
 * to {@code DIR/ops.md} or {@code DIR/rounds.md} as soon as it is measured, so a run cut short
 * still leaves its rows; {@code DIR/table.md} gets the whole table at the end and {@code
 * DIR/summary.txt} a few lines for a one-screen summary. After {@code --seconds} (default 240) no
 * new shape is started. {@code --quick} measures small shapes briefly: a smoke test of the flow
 * (e.g. on the emulated driver, whose timings are host times, not speed numbers).
 */
public final class CudaBench {
  /** Cap on repetitions per measurement; lowered only to smoke-test the benchmark itself. */
  private static final int MAX_REPS = Integer.getInteger("flowscale.bench.maxReps", 20000);

  private final CudaParticleOps ops;
  private final CudaEvent start;
  private final CudaEvent end;
  private final Random rnd = new Random(1);
  private final List<String> rows = new ArrayList<>();
  private final List<String> rounds = new ArrayList<>();
  private final List<String> summary = new ArrayList<>();
  private final List<Tensor> open = new ArrayList<>();
  private final Path out;
  private final boolean quick;
  private final long deadline;
  private final double targetMs;

  private CudaBench(CudaParticleOps ops, Path out, boolean quick, long seconds) {
    this.ops = ops;
    this.out = out;
    this.quick = quick;
    this.deadline = System.nanoTime() + seconds * 1_000_000_000L;
    this.targetMs = quick ? 5 : 60;
    this.start = CudaEvent.create();
    this.end = CudaEvent.create();
  }

  public static void main(String[] args) throws IOException {
    Path out = null;
    boolean quick = false;
    long seconds = 240;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--out" -> out = Path.of(args[++i]);
        case "--seconds" -> seconds = Long.parseLong(args[++i]);
        case "--quick" -> quick = true;
        default -> {
          System.err.println("usage: CudaBench [--out DIR] [--seconds N] [--quick]");
          System.exit(2);
        }
      }
    }
    var why = new org.flowscale.kernels.CudaParticleOpsProvider().unavailableReason();
    if (why.isPresent()) {
      System.err.println("CudaBench: the cuda backend cannot run here: " + why.get());
      System.exit(1);
    }
    if (out != null) {
      Files.createDirectories(out);
      for (String f : List.of("ops.md", "rounds.md", "table.md", "summary.txt")) {
        Files.deleteIfExists(out.resolve(f));
      }
    }
    try (CudaParticleOps ops = new CudaParticleOps(0)) {
      CudaBench b = new CudaBench(ops, out, quick, seconds);
      try {
        b.run();
      } finally {
        b.close();
      }
    }
  }

  /** Adds a row to a table: printed and appended to its file at once. */
  private void row(List<String> table, String file, String line) {
    table.add(line);
    System.out.println(line);
    append(file, line);
  }

  private void append(String file, String line) {
    if (out == null) {
      return;
    }
    try {
      Files.writeString(
          out.resolve(file),
          line + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private boolean outOfTime() {
    return System.nanoTime() > deadline;
  }

  private void close() {
    for (Tensor t : open) {
      t.close();
    }
    start.close();
    end.close();
  }

  private void run() {
    System.out.println(
        "device: " + ops.device() + ", " + Instant.now() + (quick ? " (quick smoke run)" : ""));
    int bigFloats = quick ? 4 << 20 : 64 << 20; // 16 or 256 MiB
    String bigLabel = (bigFloats >> 18) + " MiB";
    Tensor big = tensor(bigFloats, 1, DType.F32);
    Tensor big2 = tensor(bigFloats, 1, DType.F32);
    double peakUs = gpuMicros(() -> ops.copy(big, big2));
    double peak = 2.0 * big.byteSize() / (peakUs * 1e-6) / 1e9;
    System.out.printf(
        Locale.ROOT, "device-to-device copy, %s: %.0f GB/s (read + write)%n", bigLabel, peak);
    summary.add(
        String.format(
            Locale.ROOT,
            "%s: device-to-device copy of %s at %.0f GB/s",
            ops.device().name(),
            bigLabel,
            peak));
    big.close();
    big2.close();
    open.remove(big);
    open.remove(big2);

    row(rows, "ops.md", "| operation | particles x state | dtype | us / call | GB/s | of copy |");
    row(rows, "ops.md", "|---|---|---|---:|---:|---:|");
    row(
        rounds,
        "rounds.md",
        "| RBF round (no model) | particles x state | dtype | eager us / round | graph us / round |");
    row(rounds, "rounds.md", "|---|---|---|---:|---:|");
    int[][] shapes =
        quick ? new int[][] {{8, 4096}, {256, 64}} : new int[][] {{64, 4096 * 64}, {1024, 64}};
    String[] labels =
        quick
            ? new String[] {"8 x 4096", "256 x 64"}
            : new String[] {"64 x [4096 x 64]", "1024 x 64"};
    String stopped = null;
    for (int s = 0; s < shapes.length && stopped == null; s++) {
      for (DType dt : List.of(DType.F32, DType.BF16)) {
        if (outOfTime()) {
          stopped = labels[s] + " " + dt;
          break;
        }
        double[] ratios = measureOps(shapes[s][0], shapes[s][1], dt, labels[s]);
        double[] round = measureRound(shapes[s][0], shapes[s][1], dt, labels[s]);
        summary.add(
            String.format(
                Locale.ROOT,
                "%s %s: SDE step at %.0f%% and gather at %.0f%% of copy; RBF round %.1f us eager,"
                    + " %.1f us graph",
                labels[s],
                dt,
                100 * ratios[0],
                100 * ratios[1],
                round[0],
                round[1]));
      }
    }
    if (stopped == null && !outOfTime()) {
      measureScalars(quick ? 24 : 64);
      measureScalars(quick ? 256 : 1024);
    } else if (stopped == null) {
      stopped = "the per-particle scalars";
    }
    if (stopped != null) {
      String note = "(time budget spent: stopped before " + stopped + ")";
      System.out.println(note);
      summary.add(note);
    }

    StringBuilder t = new StringBuilder();
    t.append(
        String.format(
            Locale.ROOT,
            "## CUDA particle operations: %s, %s%s%n%n",
            ops.device().name(),
            java.time.LocalDate.now(),
            quick ? " (quick smoke run, not a measurement)" : ""));
    t.append(
        String.format(
            Locale.ROOT,
            "Device-to-device copy (%s, read + write): %.0f GB/s. \"of copy\" compares with a"
                + " copy of the operation's own state tensor in the same run.%n%n",
            bigLabel,
            peak));
    rows.forEach(r -> t.append(r).append('\n'));
    t.append('\n');
    rounds.forEach(r -> t.append(r).append('\n'));
    t.append('\n');
    t.append(
        "Both forms draw fresh proposal noise every round: eagerly a new Noise stream per call; as a"
            + " graph through a device stream counter that the graph advances on the device"
            + " (replays checked bit for bit against eager streams base + k in this run).\n");
    if (stopped != null) {
      t.append("\n(time budget spent: stopped before ").append(stopped).append(")\n");
    }
    System.out.println();
    System.out.print(t);
    append("table.md", t.toString().stripTrailing());
    summary.forEach(l -> append("summary.txt", l));
  }

  /** The rows of one shape and dtype; returns the SDE step's and gather's fractions of copy. */
  private double[] measureOps(int n, int d, DType dt, String label) {
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
    opRow("copy (reference)", label, dt, copyUs, 2 * bytes, copyBw);
    Noise noise = new Noise(5, 9, null);
    opRow("gaussian", label, dt, gpuMicros(() -> ops.gaussian(noise, out)), bytes, copyBw);
    opRow(
        "affine: SDE step (x, noise)",
        label,
        dt,
        gpuMicros(() -> ops.affine(x, null, stepCoef, noise, out)),
        2 * bytes,
        copyBw);
    double sde =
        opRow(
            "affine: SDE step (x, u, noise)",
            label,
            dt,
            gpuMicros(() -> ops.affine(x, u, fullCoef, noise, out)),
            3 * bytes,
            copyBw);
    opRow(
        "affine: Tweedie / ODE (x, u)",
        label,
        dt,
        gpuMicros(() -> ops.affine(x, u, tweedieCoef, null, out)),
        3 * bytes,
        copyBw);
    double gather =
        opRow(
            "gather (permutation)",
            label,
            dt,
            gpuMicros(() -> ops.gather(x, perm, out)),
            2 * bytes + 4L * n,
            copyBw);
    ops.synchronize();
    return new double[] {sde, gather};
  }

  private void measureScalars(int n) {
    Tensor w = tensor(n, 1, DType.F64);
    upload(w, randomDoubles(n));
    Tensor best = tensor(2, 1, DType.I32);
    Tensor idx = tensor(n, 1, DType.I32);
    String label = n + " x 1 (F64)";
    row(
        rows,
        "ops.md",
        String.format(
            Locale.ROOT,
            "| groupArgmax (2 groups) | %s | F64 | %.1f | | |",
            label,
            gpuMicros(() -> ops.groupArgmax(w, n / 2, best))));
    row(
        rows,
        "ops.md",
        String.format(
            Locale.ROOT,
            "| resample multinomial | %s | F64 | %.1f | | |",
            label,
            gpuMicros(() -> ops.resample(w, Resampling.MULTINOMIAL, 1, 2, idx))));
    row(
        rows,
        "ops.md",
        String.format(
            Locale.ROOT,
            "| resample systematic | %s | F64 | %.1f | | |",
            label,
            gpuMicros(() -> ops.resample(w, Resampling.SYSTEMATIC, 1, 2, idx))));
    row(
        rows,
        "ops.md",
        String.format(
            Locale.ROOT,
            "| logSumExp (incl. sync + read) | %s | F64 | %.1f | | |",
            label,
            wallMicros(() -> ops.logSumExp(w))));
    row(
        rows,
        "ops.md",
        String.format(
            Locale.ROOT,
            "| ESS (incl. sync + read) | %s | F64 | %.1f | | |",
            label,
            wallMicros(() -> ops.effectiveSampleSize(w))));
  }

  /** One RBF round of particle work for 2 chains, without the model: {eager, graph} us. */
  private double[] measureRound(int n, int d, DType dt, String label) {
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
    row(
        rounds,
        "rounds.md",
        String.format(
            Locale.ROOT,
            "| proposal + Tweedie + select | %s | %s | %.1f | %.1f |",
            label,
            dt,
            eager,
            graph));
    return new double[] {eager, graph};
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

  /** Adds an operation's row; returns its bandwidth as a fraction of the copy's. */
  private double opRow(String op, String label, DType dt, double us, long bytes, double copyBw) {
    double bw = bytes / (us * 1e-6) / 1e9;
    row(
        rows,
        "ops.md",
        String.format(
            Locale.ROOT,
            "| %s | %s | %s | %.1f | %.0f | %.0f%% |",
            op,
            label,
            dt,
            us,
            bw,
            100 * bw / copyBw));
    return bw / copyBw;
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
      if (ms >= targetMs || reps >= MAX_REPS) {
        ops.synchronize();
        return ms * 1000 / reps;
      }
      reps =
          (int)
              Math.min(
                  MAX_REPS, Math.max(reps * 2L, (long) (reps * targetMs / Math.max(ms, 1e-3))));
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
      if (ms >= targetMs || reps >= MAX_REPS) {
        return ms * 1000 / reps;
      }
      reps =
          (int)
              Math.min(
                  MAX_REPS, Math.max(reps * 2L, (long) (reps * targetMs / Math.max(ms, 1e-3))));
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
