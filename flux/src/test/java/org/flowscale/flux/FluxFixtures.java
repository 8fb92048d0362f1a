package org.flowscale.flux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flowscale.bindings.torch.TorchSettings;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The FLUX test fixtures made by {@code src/test/python/make_flux_fixtures.py}: tiny random FLUX.1
 * checkpoints in BFL's layout, text embeddings, the architecture file from {@code
 * tools/flux/flux_arch.py}, and reference velocities. Made once into {@code target/flux-fixtures}
 * and reused while both scripts are unchanged (a stamp holds their hash).
 *
 * <p>Properties as {@code TorchFixtures}': {@code flowscale.shim}, {@code flowscale.python}
 * (default {@code /usr/bin/python3}), {@code flowscale.flux.fixtures} (a directory of fixtures made
 * beforehand, e.g. on the GPU machine), {@code flowscale.torch.device} (where the models run),
 * {@code flowscale.torch.required} (missing shim or PyTorch fails instead of skipping).
 */
final class FluxFixtures {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path SCRIPT = Path.of("src/test/python/make_flux_fixtures.py");
  private static final Path ARCH_TOOL = ROOT.resolve("tools/flux/flux_arch.py");

  private static FluxFixtures instance;
  private static String unavailable;

  /**
   * One reference case: a batch of latents, times, a prompt and the velocities: a float32 model's
   * (exact maths), eager PyTorch's in bf16, a bf16 model's with exact maths, and how far eager bf16
   * is from exact.
   */
  record Case(
      int index,
      String variant,
      int n,
      int h,
      int w,
      int tokens,
      double guidance,
      String prompt,
      boolean embeddingsFile,
      float[] x,
      double[] t,
      double[] vF32,
      double[] vBf16,
      double[] vBf16Exact,
      double eagerBf16Error,
      double[] cotangent,
      double[] vjpF32) {
    boolean dev() {
      return variant.equals("dev");
    }
  }

  final TorchShim shim;
  final Path dir;
  final int device;
  final List<Case> cases = new ArrayList<>();

  private FluxFixtures(TorchShim shim, Path dir, int device) {
    this.shim = shim;
    this.dir = dir;
    this.device = device;
    try (SafeTensors f = SafeTensors.open(dir.resolve("cases.safetensors"))) {
      Map<String, String> m = f.metadata();
      for (int k = 0; m.containsKey("case" + k); k++) {
        String[] p = m.get("case" + k).split(" ");
        cases.add(
            new Case(
                k,
                p[0],
                Integer.parseInt(p[1]),
                Integer.parseInt(p[2]),
                Integer.parseInt(p[3]),
                Integer.parseInt(p[4]),
                p[5].equals("nan") ? Double.NaN : Double.parseDouble(p[5]),
                m.get("case" + k + ".prompt"),
                m.get("case" + k + ".embeddings").equals("file"),
                f.floats("case" + k + ".x"),
                doubles(f, "case" + k + ".t"),
                doubles(f, "case" + k + ".v_f32"),
                doubles(f, "case" + k + ".v_bf16"),
                doubles(f, "case" + k + ".v_bf16_exact"),
                Double.parseDouble(m.get("case" + k + ".eager_bf16_error")),
                doubles(f, "case" + k + ".cotangent"),
                doubles(f, "case" + k + ".vjp_f32")));
      }
    }
  }

  /** F64 tensors read exactly (SafeTensors.floats would round them to float). */
  private static double[] doubles(SafeTensors f, String name) {
    var s = f.data(name);
    double[] out = new double[(int) (s.byteSize() / 8)];
    for (int i = 0; i < out.length; i++) {
      out[i] =
          s.getAtIndex(
              java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(
                  java.nio.ByteOrder.LITTLE_ENDIAN),
              i);
    }
    return out;
  }

  static synchronized FluxFixtures get() {
    if (instance != null) {
      return instance;
    }
    if (unavailable == null) {
      try {
        TorchShim shim = TorchShim.get();
        int device =
            TorchSettings.device(
                Map.of("device", System.getProperty("flowscale.torch.device", "cpu")),
                "device",
                shim);
        if (device >= 0) {
          shim.setAllowTf32(false); // float32 references are met to 1e-5 only without TF32
        }
        instance = new FluxFixtures(shim, make(), device);
        return instance;
      } catch (RuntimeException | IOException | InterruptedException e) {
        unavailable = e.getMessage();
      }
    }
    String message =
        "FLUX tests cannot run: "
            + unavailable
            + "\n(bin/test installs libtorch-dev and python3-torch, builds native/ and runs them)";
    if (Boolean.getBoolean("flowscale.torch.required")) {
      Assertions.fail(message);
    }
    System.err.println("[flowscale] SKIPPING the FLUX tests. " + message);
    Assumptions.abort(message);
    throw new AssertionError("unreachable");
  }

  private static Path make() throws IOException, InterruptedException {
    String given = System.getProperty("flowscale.flux.fixtures");
    if (given != null && !given.isBlank()) {
      Path p = Path.of(given);
      if (!Files.isRegularFile(p.resolve("manifest.txt"))) {
        throw new IOException("flowscale.flux.fixtures=" + p + " has no manifest.txt");
      }
      return p;
    }
    Path out = Path.of("target/flux-fixtures").toAbsolutePath();
    String stamp = stamp();
    Path stampFile = out.resolve("stamp.txt");
    if (Files.isRegularFile(out.resolve("manifest.txt"))
        && Files.isRegularFile(stampFile)
        && Files.readString(stampFile).equals(stamp)) {
      return out;
    }
    Files.createDirectories(out);
    Files.deleteIfExists(out.resolve("manifest.txt"));
    String python = System.getProperty("flowscale.python", "/usr/bin/python3");
    Process p =
        new ProcessBuilder(python, SCRIPT.toString(), ROOT.toString(), out.toString())
            .redirectErrorStream(true)
            .start();
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(
          python
              + " "
              + SCRIPT
              + " failed (needs PyTorch: apt-get install python3-torch):\n"
              + new String(output, StandardCharsets.UTF_8));
    }
    Files.writeString(stampFile, stamp);
    return out;
  }

  private static String stamp() throws IOException {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(Files.readAllBytes(SCRIPT));
      d.update(Files.readAllBytes(ARCH_TOOL));
      return HexFormat.of().formatHex(d.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  /** Settings for a case's model (checkpoint, size, dtype, embeddings), plus extras. */
  Map<String, Object> settings(Case c, String dtype, Map<String, Object> extra) {
    Map<String, Object> s = new HashMap<>();
    s.put("model_path", file(c.variant() + ".safetensors").toString());
    s.put("architecture_path", file("flux-arch.pt").toString());
    s.put(
        "text_embeddings",
        (c.embeddingsFile() ? file("emb-case" + c.index() + ".safetensors") : file("emb"))
            .toString());
    s.put("height", (long) c.h() * 8);
    s.put("width", (long) c.w() * 8);
    s.put("dtype", dtype);
    s.put("axes_dim", List.of(4L, 6L, 6L));
    s.put("device", device < 0 ? "cpu" : "cuda:" + device);
    if (c.dev()) {
      s.put("guidance_scale", c.guidance());
    }
    s.putAll(extra);
    return s;
  }

  /** {@code ||a - b|| / ||b||}. */
  static double relErr(double[] a, double[] b) {
    Assertions.assertEquals(b.length, a.length, "lengths");
    double num = 0;
    double den = 0;
    for (int i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) * (a[i] - b[i]);
      den += b[i] * b[i];
    }
    return Math.sqrt(num / den);
  }
}
