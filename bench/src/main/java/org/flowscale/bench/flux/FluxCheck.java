package org.flowscale.bench.flux;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.flux.FluxModel;
import org.flowscale.flux.FluxTransformerSpec;

/**
 * The Java half of {@code bench/gpu/flux-check.sh}: loads the checkpoint {@code flux_check.py}
 * wrote into the architecture file through {@code model: flux} (ServiceLoader, as the command line
 * does), runs the velocity on the particle backend ({@code cuda} on a GPU: latents stay on the
 * device and libtorch runs on the backend's stream), and prints a table of ms per forward beside
 * eager PyTorch's on the same weights and inputs, with the achieved TFLOP/s.
 *
 * <p>Usage: {@code FluxCheck DIR CHECKPOINT ARCHITECTURE DEVICE BACKEND ITERS BATCHES} (DIR: where
 * flux_check.py wrote inputs.safetensors, emb.safetensors, check.safetensors, python.txt, peak.txt
 * and size.txt; DEVICE {@code cpu} or {@code cuda:N}; BATCHES e.g. {@code 1,2,4}). Rows are printed
 * (and flushed) as each batch finishes, so a run cut short still leaves a partial table.
 */
public final class FluxCheck {
  private FluxCheck() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 7) {
      System.err.println(
          "usage: FluxCheck DIR CHECKPOINT ARCHITECTURE cpu|cuda:N cpu|cuda ITERS 1,2,4");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    String checkpoint = args[1];
    String architecture = args[2];
    String device = args[3];
    String backend = args[4];
    int iters = Integer.parseInt(args[5]);
    List<Integer> batches = new ArrayList<>();
    for (String b : args[6].split(",")) {
      batches.add(Integer.parseInt(b));
    }
    Map<String, String> size = readSize(dir.resolve("size.txt"));
    Map<Integer, Double> python = readPython(dir.resolve("python.txt"));
    double peak = readPeak(dir.resolve("peak.txt"));
    PrintStream out = System.out;
    TorchShim shim = TorchShim.get();
    out.println("# " + shim + ", CUDA devices: " + shim.cudaDeviceCount());

    int side = Integer.parseInt(size.get("side"));
    Map<String, Object> settings = new LinkedHashMap<>();
    settings.put("model_path", checkpoint);
    settings.put("architecture_path", architecture);
    settings.put("text_embeddings", dir.resolve("emb.safetensors").toString());
    settings.put("height", (long) side);
    settings.put("width", (long) side);
    settings.put("dtype", "bf16");
    settings.put("device", device);
    settings.put("model_batch_size", (long) batches.stream().mapToInt(i -> i).max().orElse(1));
    List<Object> axes = new ArrayList<>();
    for (String a : size.get("axes").split(",")) {
      axes.add(Long.parseLong(a));
    }
    settings.put("axes_dim", axes);
    ModelFactory factory = null;
    for (ModelFactory f : java.util.ServiceLoader.load(ModelFactory.class)) {
      if (f.name().equals("flux")) {
        factory = f;
      }
    }
    if (factory == null) {
      throw new IllegalStateException("no model: flux on the class path");
    }
    long t0 = System.nanoTime();
    try (ParticleOps ops = Backends.create(backend);
        FlowModel loaded = factory.load(settings);
        VelocityModel m = loaded.condition("flux-check");
        SafeTensors inputs = SafeTensors.open(dir.resolve("inputs.safetensors"));
        Arena arena = Arena.ofConfined()) {
      double loadS = (System.nanoTime() - t0) / 1e9;
      FluxTransformerSpec spec = ((FluxModel) loaded).spec();
      int tokens = Integer.parseInt(size.get("tokens"));
      out.printf(
          "# loaded %s in %.1f s on %s (backend %s): %s%n",
          checkpoint, loadS, device, ops.name(), spec);
      int dim = m.dim();
      int maxB = batches.stream().mapToInt(i -> i).max().orElse(1);
      MemorySegment x = inputs.data("x");
      float[] tv = inputs.floats("t");
      double flops = flopsPerImage(spec, (side / 16) * (side / 16), tokens);
      out.printf(
          "# FLOP per image and forward: %.3e (%d image + %d text tokens); bf16 peak: %s%n",
          flops,
          (side / 16) * (side / 16),
          tokens,
          peak > 0 ? String.format("%.0f TFLOP/s measured (8192^3 matmul)", peak) : "not measured");

      // correctness at full size: batch 1 against eager PyTorch's velocity
      Path check = dir.resolve("check.safetensors");
      if (Files.exists(check)) {
        try (SafeTensors c = SafeTensors.open(check)) {
          float[] want = c.floats("v");
          float[] got = run(ops, m, x, tv, 1, dim, arena);
          out.printf(
              "# batch 1 velocity vs eager PyTorch: relative error %.2e%n", relErr(got, want));
        }
      }

      out.println();
      out.println(
          "| batch | Java ms/forward | PyTorch eager ms/forward | Java/PyTorch | Java TFLOP/s |"
              + " % of bf16 peak |");
      out.println("|---|---|---|---|---|---|");
      out.flush();
      for (int b : batches) {
        if (b > maxB) {
          continue;
        }
        Tensor xs = ops.allocate(b, dim, DType.BF16);
        Tensor ts = ops.allocate(b, 1, DType.F64);
        Tensor os = ops.allocate(b, dim, DType.BF16);
        try {
          ops.upload(x.asSlice(0, (long) b * dim * 2), xs);
          MemorySegment th = arena.allocate(JAVA_DOUBLE, b);
          for (int i = 0; i < b; i++) {
            th.setAtIndex(JAVA_DOUBLE, i, tv[i]);
          }
          ops.upload(th, ts);
          for (int i = 0; i < 2; i++) {
            m.velocity(ops, xs, ts, os);
          }
          ops.synchronize();
          long s = System.nanoTime();
          for (int i = 0; i < iters; i++) {
            m.velocity(ops, xs, ts, os);
          }
          ops.synchronize();
          double ms = (System.nanoTime() - s) / 1e6 / iters;
          Double py = python.get(b);
          double tflops = flops * b / (ms / 1e3) / 1e12;
          out.printf(
              "| %d | %.2f | %s | %s | %.0f | %s |%n",
              b,
              ms,
              py == null ? "-" : String.format("%.2f", py),
              py == null ? "-" : String.format("%.3f", ms / py),
              tflops,
              peak > 0 ? String.format("%.0f%%", 100 * tflops / peak) : "-");
          out.flush();
        } finally {
          xs.close();
          ts.close();
          os.close();
        }
      }
    }
  }

  /** One forward of the first {@code b} inputs; the velocity as floats. */
  private static float[] run(
      ParticleOps ops, VelocityModel m, MemorySegment x, float[] tv, int b, int dim, Arena arena) {
    try (Tensor xs = ops.allocate(b, dim, DType.BF16);
        Tensor ts = ops.allocate(b, 1, DType.F64);
        Tensor os = ops.allocate(b, dim, DType.BF16)) {
      ops.upload(x.asSlice(0, (long) b * dim * 2), xs);
      MemorySegment th = arena.allocate(JAVA_DOUBLE, b);
      for (int i = 0; i < b; i++) {
        th.setAtIndex(JAVA_DOUBLE, i, tv[i]);
      }
      ops.upload(th, ts);
      m.velocity(ops, xs, ts, os);
      MemorySegment host = arena.allocate((long) b * dim * 2, 8);
      ops.download(os, host);
      float[] v = new float[b * dim];
      for (int i = 0; i < v.length; i++) {
        v[i] =
            DType.fromBf16(
                host.getAtIndex(JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i));
      }
      return v;
    }
  }

  /**
   * Matrix-multiply FLOP of one image's forward (2 per multiply-add): every token passes one
   * stream's qkv, projection and MLP in each of the 57 blocks ({@code 2 (4 H^2 + 2 H M)} per token
   * and block; the single blocks' fused linears come to the same), attention adds {@code 4 L^2 H}
   * per block, and the input and output projections the rest. Modulations (per image, not per
   * token) are left out.
   */
  static double flopsPerImage(FluxTransformerSpec s, int imageTokens, int textTokens) {
    double h = s.hidden();
    double m = s.mlpHidden();
    double l = imageTokens + textTokens;
    int blocks = s.doubleBlocks() + s.singleBlocks();
    double perBlock = l * 2 * (4 * h * h + 2 * h * m) + 4 * l * l * h;
    double io =
        2
            * (imageTokens * s.inChannels() * h
                + textTokens * s.contextDim() * h
                + imageTokens * h * s.outChannels());
    return blocks * perBlock + io;
  }

  private static double relErr(float[] a, float[] b) {
    double num = 0;
    double den = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      num += (a[i] - (double) b[i]) * (a[i] - (double) b[i]);
      den += (double) b[i] * b[i];
    }
    return Math.sqrt(num / den);
  }

  private static Map<String, String> readSize(Path p) throws IOException {
    Map<String, String> m = new HashMap<>();
    for (String kv : Files.readString(p).trim().split("\\s+")) {
      String[] f = kv.split("=", 2);
      m.put(f[0], f[1]);
    }
    return m;
  }

  private static Map<Integer, Double> readPython(Path p) throws IOException {
    Map<Integer, Double> m = new HashMap<>();
    if (Files.exists(p)) {
      for (String line : Files.readAllLines(p)) {
        String[] f = line.trim().split(" ");
        if (f.length == 4 && f[0].equals("batch")) {
          m.put(Integer.parseInt(f[1]), Double.parseDouble(f[3]));
        }
      }
    }
    return m;
  }

  private static double readPeak(Path p) throws IOException {
    return Files.exists(p) ? Double.parseDouble(Files.readString(p).trim()) : -1;
  }
}
