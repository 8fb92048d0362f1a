package org.flowscale.flux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;

/**
 * The FLUX pipeline fixtures of {@code src/test/python/make_flux_pipeline_fixtures.py}: a tiny
 * random FLUX.1-schnell folder in the layout users download, the architecture folder, an image
 * reward, and float64 references (token ids, T5 states, CLIP pooled vectors, decoded images and the
 * decoder's VJP). Made once into {@code target/flux-pipeline-fixtures} and reused while the scripts
 * are unchanged. Properties as {@link FluxFixtures}'.
 */
public final class FluxPipelineFixtures {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  private static final TorchTesting.Once<FluxPipelineFixtures> FIXTURES =
      new TorchTesting.Once<>(
          "FLUX pipeline tests",
          () -> {
            TorchShim shim = TorchShim.get();
            return new FluxPipelineFixtures(shim, make(ROOT), TorchTesting.device(shim));
          });

  /** One reference prompt. */
  record Prompt(String text, long[] t5Ids, long[] clipIds, double[] t5, double[] clipPooled) {}

  final TorchShim shim;
  final Path dir;
  final int device;
  final List<Prompt> prompts = new ArrayList<>();
  final float[] decodeZ;
  final double[] decodeImage;
  final double[] decodeCotangent;
  final double[] decodeVjp;
  final double[] decodeReward;
  final double[] decodeRewardGrad;

  private FluxPipelineFixtures(TorchShim shim, Path dir, int device) {
    this.shim = shim;
    this.dir = dir;
    this.device = device;
    try (SafeTensors f = SafeTensors.open(dir.resolve("references.safetensors"))) {
      Map<String, String> m = f.metadata();
      for (int k = 0; m.containsKey("prompt" + k); k++) {
        String p = "prompt" + k;
        prompts.add(
            new Prompt(
                m.get(p),
                TorchTesting.longs(f, p + ".t5_ids"),
                TorchTesting.longs(f, p + ".clip_ids"),
                TorchTesting.doubles(f, p + ".t5"),
                TorchTesting.doubles(f, p + ".clip_pooled")));
      }
      decodeZ = f.floats("decode.z");
      decodeImage = TorchTesting.doubles(f, "decode.image");
      decodeCotangent = TorchTesting.doubles(f, "decode.cotangent");
      decodeVjp = TorchTesting.doubles(f, "decode.vjp");
      decodeReward = TorchTesting.doubles(f, "decode.reward");
      decodeRewardGrad = TorchTesting.doubles(f, "decode.reward_grad");
    }
  }

  /** The fixtures, made on first use; skips (or fails, when required) without shim or PyTorch. */
  public static FluxPipelineFixtures get() {
    return FIXTURES.get();
  }

  /**
   * Makes (or reuses) the fixtures under {@code root/flux/target/flux-pipeline-fixtures}; other
   * modules' tests (the command line's) call this with the repository root.
   */
  public static Path make(Path root) throws IOException, InterruptedException {
    List<Path> inputs = new ArrayList<>();
    inputs.add(root.resolve("flux/src/test/python/make_flux_fixtures.py"));
    try (Stream<Path> tools = Files.list(root.resolve("tools/flux"))) {
      inputs.addAll(tools.filter(f -> f.toString().endsWith(".py")).sorted().toList());
    }
    return TorchTesting.make(
        root.resolve("flux/src/test/python/make_flux_pipeline_fixtures.py"),
        List.of(root.toString()),
        root.resolve("flux/target/flux-pipeline-fixtures"),
        inputs,
        300);
  }

  Path folder() {
    return dir.resolve("folder");
  }

  /** Settings for the tiny folder at 64x48, float32 on the test device, plus extras. */
  Map<String, Object> settings(Map<String, Object> extra) {
    Map<String, Object> s = new HashMap<>();
    s.put("model_dir", folder().toString());
    s.put("architecture_dir", dir.resolve("arch").toString());
    s.put("height", 64L);
    s.put("width", 48L);
    s.put("dtype", "float32");
    s.put("axes_dim", List.of(4L, 6L, 6L));
    s.put("device", TorchTesting.deviceName(device));
    s.putAll(extra);
    return s;
  }

  /** A copy of the folder (to damage) under {@code into}. */
  Path copyFolder(Path into) throws IOException {
    Path src = folder();
    try (Stream<Path> all = Files.walk(src)) {
      for (Path p : all.toList()) {
        Path t = into.resolve(src.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
    return into;
  }

  static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put((String) kv[i], kv[i + 1]);
    }
    return m;
  }
}
