package org.flowscale.flux;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
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
import java.util.stream.Stream;
import org.flowscale.bindings.torch.TorchSettings;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The FLUX pipeline fixtures of {@code src/test/python/make_flux_pipeline_fixtures.py}: a tiny
 * random FLUX.1-schnell folder in the layout users download, the architecture folder, an image
 * reward, and float64 references (token ids, T5 states, CLIP pooled vectors, decoded images and the
 * decoder's VJP). Made once into {@code target/flux-pipeline-fixtures} and reused while the scripts
 * are unchanged. Properties as {@link FluxFixtures}'.
 */
public final class FluxPipelineFixtures {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final String SCRIPT = "flux/src/test/python/make_flux_pipeline_fixtures.py";

  private static FluxPipelineFixtures instance;
  private static String unavailable;

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
                longs(f, p + ".t5_ids"),
                longs(f, p + ".clip_ids"),
                doubles(f, p + ".t5"),
                doubles(f, p + ".clip_pooled")));
      }
      decodeZ = f.floats("decode.z");
      decodeImage = doubles(f, "decode.image");
      decodeCotangent = doubles(f, "decode.cotangent");
      decodeVjp = doubles(f, "decode.vjp");
      decodeReward = doubles(f, "decode.reward");
      decodeRewardGrad = doubles(f, "decode.reward_grad");
    }
  }

  static double[] doubles(SafeTensors f, String name) {
    var s = f.data(name);
    double[] out = new double[(int) (s.byteSize() / 8)];
    for (int i = 0; i < out.length; i++) {
      out[i] =
          s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
    }
    return out;
  }

  static long[] longs(SafeTensors f, String name) {
    var s = f.data(name);
    long[] out = new long[(int) (s.byteSize() / 8)];
    for (int i = 0; i < out.length; i++) {
      out[i] = s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
    }
    return out;
  }

  /** The fixtures, made on first use; skips (or fails, when required) without shim or PyTorch. */
  public static synchronized FluxPipelineFixtures get() {
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
          shim.setAllowTf32(false);
        }
        instance = new FluxPipelineFixtures(shim, make(ROOT), device);
        return instance;
      } catch (RuntimeException | IOException | InterruptedException e) {
        unavailable = e.getMessage();
      }
    }
    String message =
        "FLUX pipeline tests cannot run: "
            + unavailable
            + "\n(bin/test installs libtorch-dev and python3-torch, builds native/ and runs them)";
    if (Boolean.getBoolean("flowscale.torch.required")) {
      Assertions.fail(message);
    }
    System.err.println("[flowscale] SKIPPING the FLUX pipeline tests. " + message);
    Assumptions.abort(message);
    throw new AssertionError("unreachable");
  }

  /**
   * Makes (or reuses) the fixtures under {@code root/flux/target/flux-pipeline-fixtures}; other
   * modules' tests (the command line's) call this with the repository root.
   */
  public static Path make(Path root) throws IOException, InterruptedException {
    Path out = root.resolve("flux/target/flux-pipeline-fixtures").toAbsolutePath();
    String stamp = stamp(root);
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
        new ProcessBuilder(python, root.resolve(SCRIPT).toString(), root.toString(), out.toString())
            .redirectErrorStream(true)
            .start();
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(
          python + " " + SCRIPT + " failed:\n" + new String(output, StandardCharsets.UTF_8));
    }
    Files.writeString(stampFile, stamp);
    return out;
  }

  private static String stamp(Path root) throws IOException {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(Files.readAllBytes(root.resolve(SCRIPT)));
      d.update(Files.readAllBytes(root.resolve("flux/src/test/python/make_flux_fixtures.py")));
      try (Stream<Path> tools = Files.list(root.resolve("tools/flux"))) {
        for (Path t : tools.filter(f -> f.toString().endsWith(".py")).sorted().toList()) {
          d.update(Files.readAllBytes(t));
        }
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
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
    s.put("device", device < 0 ? "cpu" : "cuda:" + device);
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
