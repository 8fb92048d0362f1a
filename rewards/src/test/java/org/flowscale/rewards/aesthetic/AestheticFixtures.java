package org.flowscale.rewards.aesthetic;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;

/**
 * The aesthetic_clip fixtures made by {@code src/test/python/make_aesthetic_fixtures.py}: a tiny
 * random CLIP tower and head converted by the real tools, the architecture files, and float64
 * reference scores and gradients. Made once into {@code target/aesthetic-fixtures} and reused while
 * the scripts are unchanged. Properties as the other libtorch tests': {@code flowscale.shim},
 * {@code flowscale.python}, {@code flowscale.torch.required} (fail instead of skip).
 */
final class AestheticFixtures {
  static final Path ROOT =
      Path.of(System.getProperty("flowscale.root", "..")).toAbsolutePath().normalize();
  private static final Path SCRIPT = Path.of("src/test/python/make_aesthetic_fixtures.py");
  private static final List<Path> TOOLS =
      List.of(
          ROOT.resolve("tools/rewards/aesthetic_clip_arch.py"),
          ROOT.resolve("tools/rewards/convert_aesthetic_clip.py"));

  private static final TorchTesting.Once<AestheticFixtures> FIXTURES =
      new TorchTesting.Once<>(
          "aesthetic_clip tests",
          () -> {
            return new AestheticFixtures(TorchShim.get(), make());
          });

  /** One reference case: images [n, h, w, 3], scores [n], gradients [n, h, w, 3]. */
  record Case(int n, int h, int w, float[] x, double[] score, double[] grad) {}

  final TorchShim shim;
  final Path dir;
  final List<Case> cases = new ArrayList<>();

  private AestheticFixtures(TorchShim shim, Path dir) {
    this.shim = shim;
    this.dir = dir;
    try (SafeTensors f = SafeTensors.open(dir.resolve("cases.safetensors"))) {
      Map<String, String> m = f.metadata();
      for (int k = 0; m.containsKey("case" + k); k++) {
        String[] p = m.get("case" + k).split(" ");
        cases.add(
            new Case(
                Integer.parseInt(p[0]),
                Integer.parseInt(p[1]),
                Integer.parseInt(p[2]),
                f.floats("case" + k + ".x"),
                TorchTesting.doubles(f.data("case" + k + ".score")),
                TorchTesting.doubles(f.data("case" + k + ".grad"))));
      }
    }
  }

  static AestheticFixtures get() {
    return FIXTURES.get();
  }

  private static Path make() throws IOException, InterruptedException {
    return TorchTesting.make(
        SCRIPT,
        List.of(ROOT.toString()),
        Path.of("target/aesthetic-fixtures").toAbsolutePath(),
        TOOLS,
        300);
  }

  Path file(String name) {
    return dir.resolve(name);
  }
}
