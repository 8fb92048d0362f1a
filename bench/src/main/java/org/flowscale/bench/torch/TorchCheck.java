package org.flowscale.bench.torch;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.torch.TensorDesc;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.torch.TorchModule;
import org.flowscale.bindings.torch.TorchScriptReward;
import org.flowscale.bindings.torch.TorchScriptVelocityModel;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.torch.TorchTensor;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.kernels.CudaParticleOps;

/**
 * The libtorch latency check of {@code bench/gpu/torch-check.sh}: Java -> shim -> TorchScript
 * forward latency against the same modules timed from Python in the same run, and a whole RBF round
 * (proposal, forward, Tweedie, reward, selection) against the bare forward.
 *
 * <p>Usage: {@code TorchCheck DIR DEVICE [ITERS] [BACKEND]} with DIR holding {@code cases.txt},
 * {@code python.txt} and the modules made by {@code bench/gpu/torch_bench_modules.py}; DEVICE
 * {@code cpu} or {@code cuda:N}; BACKEND the particle backend of the RBF round ({@code auto}: cuda
 * when it can run, else cpu).
 */
public final class TorchCheck {
  private static final int WARMUP = 300;

  private TorchCheck() {}

  record Case(String name, Path file, int n, long[] shape) {}

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: TorchCheck DIR cpu|cuda:N [ITERS] [auto|cpu|cuda]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    String deviceName = args[1];
    int device = deviceName.equals("cpu") ? -1 : Integer.parseInt(deviceName.substring(5));
    int iters = args.length > 2 ? Integer.parseInt(args[2]) : 200;
    String backend = args.length > 3 ? args[3] : "auto";

    TorchShim shim = TorchShim.get();
    System.out.println("# " + shim + ", CUDA devices: " + shim.cudaDeviceCount());
    Map<String, Double> python = readPython(dir.resolve("python.txt"));

    System.out.println();
    System.out.println(
        "| case | Java sync (us) | Python sync (us) | Java/Python | Java async (us) | Python async"
            + " (us) | engine adapter sync (us) |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (Case c : readCases(dir)) {
      double[] java = javaForward(shim, c, device, iters);
      double engine = adapterForward(shim, c, device, iters);
      Double ps = python.get(c.name + " sync");
      Double pa = python.get(c.name + " async");
      System.out.printf(
          "| %s | %.1f | %s | %s | %.1f | %s | %.1f |%n",
          c.name,
          java[0],
          ps == null ? "-" : String.format("%.1f", ps),
          ps == null ? "-" : String.format("%.2f", java[0] / ps),
          java[1],
          pa == null ? "-" : String.format("%.1f", pa),
          engine);
    }

    System.out.println();
    String name = backend;
    if (name.equals("auto")) {
      name =
          Backends.providers().stream()
                  .anyMatch(p -> p.name().equals("cuda") && p.unavailableReason().isEmpty())
              ? "cuda"
              : "cpu";
    }
    if (name.equals("cuda") && device >= 0) {
      // Baseline: the same round synchronised around each libtorch call (stream not shared).
      try (ParticleOps ops = new SyncedOps((CudaParticleOps) Backends.create("cuda"))) {
        rbfRound(shim, dir, device, iters, ops);
      }
      System.out.println();
    }
    // The backend as users get it: on CUDA, libtorch queues on the backend's stream.
    try (ParticleOps ops = Backends.create(name)) {
      rbfRound(shim, dir, device, iters, ops);
    }
  }

  /** Median per-call latency with a sync after each call, and mean issue cost without. */
  static double[] javaForward(TorchShim shim, Case c, int device, int iters) {
    long[] xs = batched(c.n, c.shape);
    try (TorchModule m = shim.load(c.file, device);
        TorchTensor x = shim.empty(TorchDType.F32, device, xs);
        TorchTensor t = shim.empty(TorchDType.F32, device, c.n);
        TorchTensor out = shim.empty(TorchDType.F32, device, xs)) {
      fill(shim, x, 0.1);
      fill(shim, t, 0.5);
      List<TensorDesc> in = List.of(x.desc(), t.desc());
      List<TensorDesc> o = List.of(out.desc());
      for (int i = 0; i < WARMUP; i++) { // lets the JIT compile the binding path first
        m.forward(in, o);
      }
      sync(shim, device);
      double[] times = new double[iters];
      for (int i = 0; i < iters; i++) {
        long a = System.nanoTime();
        m.forward(in, o);
        sync(shim, device);
        times[i] = (System.nanoTime() - a) / 1e3;
      }
      Arrays.sort(times);
      long a = System.nanoTime();
      for (int i = 0; i < iters; i++) {
        m.forward(in, o);
      }
      sync(shim, device);
      double async = (System.nanoTime() - a) / 1e3 / iters;
      return new double[] {times[iters / 2], async};
    }
  }

  /** The same through {@link TorchScriptVelocityModel#velocity} (F64 times, engine shapes). */
  static double adapterForward(TorchShim shim, Case c, int device, int iters) {
    int dim = (int) Arrays.stream(c.shape).reduce(1, (p, q) -> p * q);
    try (ParticleOps cpu = Backends.create("cpu");
        var model = new TorchScriptVelocityModel(shim, shim.load(c.file, device), c.shape, null);
        TorchTensor x = shim.empty(TorchDType.F32, device, c.n, dim);
        TorchTensor t = shim.empty(TorchDType.F64, device, c.n, 1);
        TorchTensor out = shim.empty(TorchDType.F32, device, c.n, dim)) {
      fill(shim, x, 0.1);
      fill(shim, t, 0.5);
      for (int i = 0; i < WARMUP; i++) {
        model.velocity(cpu, x, t, out);
      }
      sync(shim, device);
      double[] times = new double[iters];
      for (int i = 0; i < iters; i++) {
        long a = System.nanoTime();
        model.velocity(cpu, x, t, out);
        sync(shim, device);
        times[i] = (System.nanoTime() - a) / 1e3;
      }
      Arrays.sort(times);
      return times[iters / 2];
    }
  }

  /**
   * One RBF round for B = 2 chains of 64 values: an SDE proposal per chain (affine with noise), its
   * velocity (2 NFE), its Tweedie estimate (affine), the reward, then selection on the host
   * (rewards downloaded; chains that improved take their proposal through a 0/1 affine blend).
   * Against the bare forward of the same 2 rows with the same synchronisation.
   */
  static void rbfRound(TorchShim shim, Path dir, int device, int iters, ParticleOps ops) {
    int b = 2;
    int dim = 64;
    long[] shape = {64};
    try (var model =
            new TorchScriptVelocityModel(
                shim, shim.load(dir.resolve("mlp64.pt"), device), shape, null);
        var reward =
            new TorchScriptReward(shim, shim.load(dir.resolve("reward64.pt"), device), shape);
        Tensor x = ops.allocate(b, dim, DType.F32);
        Tensor u = ops.allocate(b, dim, DType.F32);
        Tensor prop = ops.allocate(b, dim, DType.F32);
        Tensor up = ops.allocate(b, dim, DType.F32);
        Tensor x0 = ops.allocate(b, dim, DType.F32);
        Tensor t = ops.allocate(b, 1, DType.F64);
        Tensor stepCoef = ops.allocate(b, 3, DType.F64);
        Tensor tweedieCoef = ops.allocate(b, 3, DType.F64);
        Tensor scores = ops.allocate(b, 1, DType.F64);
        Tensor selectCoef = ops.allocate(b, 3, DType.F64);
        Arena arena = Arena.ofConfined()) {
      MemorySegment h = arena.allocate(8L * 3 * b, 8);
      for (int i = 0; i < b; i++) {
        h.setAtIndex(JAVA_DOUBLE, 3L * i, 1.0);
        h.setAtIndex(JAVA_DOUBLE, 3L * i + 1, -0.1);
        h.setAtIndex(JAVA_DOUBLE, 3L * i + 2, 0.05);
      }
      ops.upload(h, stepCoef);
      for (int i = 0; i < b; i++) {
        h.setAtIndex(JAVA_DOUBLE, 3L * i, 1.0);
        h.setAtIndex(JAVA_DOUBLE, 3L * i + 1, -0.5);
        h.setAtIndex(JAVA_DOUBLE, 3L * i + 2, 0.0);
      }
      ops.upload(h, tweedieCoef);
      MemorySegment ts = arena.allocate(8L * b, 8);
      for (int i = 0; i < b; i++) {
        ts.setAtIndex(JAVA_DOUBLE, i, 0.5);
      }
      ops.upload(ts, t);
      ops.gaussian(new Noise(1, 0, null), x);
      model.velocity(ops, x, t, u);
      MemorySegment hostScores = arena.allocate(8L * b, 8);
      MemorySegment hostSelect = arena.allocate(8L * 3 * b, 8);
      double[] best = new double[b];
      Arrays.fill(best, Double.NEGATIVE_INFINITY);

      // warm-up, then timed: bare forward, then whole rounds
      for (int i = 0; i < WARMUP; i++) {
        model.velocity(ops, x, t, u);
      }
      ops.synchronize();
      double[] bare = new double[iters];
      for (int i = 0; i < iters; i++) {
        long a = System.nanoTime();
        model.velocity(ops, x, t, up);
        ops.download(scores, hostScores); // the same single host round trip as a round
        bare[i] = (System.nanoTime() - a) / 1e3;
      }
      double[] round = new double[iters];
      for (int r = 0; r < iters + WARMUP; r++) {
        long a = System.nanoTime();
        ops.affine(x, u, stepCoef, new Noise(1, r + 1, null), prop); // proposal
        model.velocity(ops, prop, t, up); // forward (b NFE)
        ops.affine(prop, up, tweedieCoef, null, x0); // Tweedie
        reward.score(ops, x0, scores); // reward
        ops.download(scores, hostScores); // selection: rollover when a chain improves
        for (int i = 0; i < b; i++) {
          double s = hostScores.getAtIndex(JAVA_DOUBLE, i);
          boolean take = s > best[i];
          if (take) {
            best[i] = s;
          }
          hostSelect.setAtIndex(JAVA_DOUBLE, 3L * i, take ? 0 : 1);
          hostSelect.setAtIndex(JAVA_DOUBLE, 3L * i + 1, take ? 1 : 0);
          hostSelect.setAtIndex(JAVA_DOUBLE, 3L * i + 2, 0);
        }
        ops.upload(hostSelect, selectCoef);
        // x <- x or the proposal, per chain, in one fused affine (a 0/1 blend)
        ops.affine(x, prop, selectCoef, null, x);
        if (r >= WARMUP) {
          round[r - WARMUP] = (System.nanoTime() - a) / 1e3;
        }
      }
      Arrays.sort(bare);
      Arrays.sort(round);
      double fb = bare[iters / 2];
      double fr = round[iters / 2];
      System.out.println(
          "RBF round, "
              + b
              + " chains x "
              + dim
              + " values, particle backend '"
              + ops.name()
              + "', modules on "
              + (device < 0 ? "cpu" : "cuda:" + device)
              + (device >= 0 && !ops.name().startsWith("cuda")
                  ? " (host particles: staged through host memory, not zero-copy)"
                  : ""));
      System.out.println();
      System.out.println("| step | median (us) | vs bare forward |");
      System.out.println("|---|---|---|");
      System.out.printf("| bare forward + 1 host sync | %.1f | 1.00 |%n", fb);
      System.out.printf(
          "| whole round (proposal, forward, Tweedie, reward, selection) | %.1f | %.2f |%n",
          fr, fr / fb);
    }
  }

  private static long[] batched(int n, long[] shape) {
    long[] s = new long[shape.length + 1];
    s[0] = n;
    System.arraycopy(shape, 0, s, 1, shape.length);
    return s;
  }

  private static void fill(TorchShim shim, TorchTensor t, double value) {
    TensorDesc d = t.desc();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment h = arena.allocate(8 * d.elements(), 8);
      for (long i = 0; i < d.elements(); i++) {
        h.setAtIndex(JAVA_DOUBLE, i, value * ((i % 17) - 8) / 8.0);
      }
      shim.copy(new TensorDesc(h.address(), d.shape(), TorchDType.F64, -1), d);
    }
  }

  private static void sync(TorchShim shim, int device) {
    if (device >= 0) {
      shim.cudaSynchronize(device);
    }
  }

  private static List<Case> readCases(Path dir) throws IOException {
    List<Case> out = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("cases.txt"))) {
      String[] f = line.trim().split(" ");
      long[] shape = new long[f.length - 3];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = Long.parseLong(f[3 + i]);
      }
      out.add(new Case(f[0], dir.resolve(f[1]), Integer.parseInt(f[2]), shape));
    }
    return out;
  }

  private static Map<String, Double> readPython(Path file) throws IOException {
    Map<String, Double> out = new LinkedHashMap<>();
    if (Files.isRegularFile(file)) {
      for (String line : Files.readAllLines(file)) {
        String[] f = line.trim().split(" ");
        if (f.length == 3) {
          out.put(f[0] + " " + f[1], Double.parseDouble(f[2]));
        }
      }
    }
    return out;
  }
}
