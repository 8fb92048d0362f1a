package org.flowscale.flux;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;

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
public final class FluxFixtures {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private static final TorchTesting.Once<FluxFixtures> FIXTURES =
      new TorchTesting.Once<>(
          "FLUX tests",
          () -> {
            TorchShim shim = TorchShim.get();
            int device = TorchTesting.device(shim); // float32 references met to 1e-5 without TF32
            Path given = TorchTesting.given("flowscale.flux.fixtures");
            return new FluxFixtures(shim, given != null ? given : make(ROOT), device);
          });

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
                TorchTesting.doubles(f, "case" + k + ".t"),
                TorchTesting.doubles(f, "case" + k + ".v_f32"),
                TorchTesting.doubles(f, "case" + k + ".v_bf16"),
                TorchTesting.doubles(f, "case" + k + ".v_bf16_exact"),
                Double.parseDouble(m.get("case" + k + ".eager_bf16_error")),
                TorchTesting.doubles(f, "case" + k + ".cotangent"),
                TorchTesting.doubles(f, "case" + k + ".vjp_f32")));
      }
    }
  }

  static FluxFixtures get() {
    return FIXTURES.get();
  }

  /**
   * Makes (or reuses) the fixtures under {@code root/flux/target/flux-fixtures}; the command line's
   * tests call this with the repository root.
   */
  public static Path make(Path root) throws IOException, InterruptedException {
    return TorchTesting.make(
        root.resolve("flux/src/test/python/make_flux_fixtures.py"),
        List.of(root.toString()),
        root.resolve("flux/target/flux-fixtures"),
        List.of(root.resolve("tools/flux/flux_arch.py")),
        300);
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
    s.put("device", TorchTesting.deviceName(device));
    if (c.dev()) {
      s.put("guidance_scale", c.guidance());
    }
    s.putAll(extra);
    return s;
  }
}
