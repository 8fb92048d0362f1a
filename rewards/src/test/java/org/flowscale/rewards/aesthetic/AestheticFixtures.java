package org.flowscale.rewards.aesthetic;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

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

  private static AestheticFixtures instance;
  private static String unavailable;

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
                doubles(f.data("case" + k + ".score")),
                doubles(f.data("case" + k + ".grad"))));
      }
    }
  }

  private static double[] doubles(MemorySegment s) {
    double[] out = new double[(int) (s.byteSize() / 8)];
    for (int i = 0; i < out.length; i++) {
      out[i] =
          s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
    }
    return out;
  }

  static synchronized AestheticFixtures get() {
    if (instance != null) {
      return instance;
    }
    if (unavailable == null) {
      try {
        instance = new AestheticFixtures(TorchShim.get(), make());
        return instance;
      } catch (RuntimeException | IOException | InterruptedException e) {
        unavailable = e.getMessage();
      }
    }
    String message =
        "aesthetic_clip tests cannot run: "
            + unavailable
            + "\n(bin/test installs libtorch-dev and python3-torch, builds native/ and runs them)";
    if (Boolean.getBoolean("flowscale.torch.required")) {
      Assertions.fail(message);
    }
    System.err.println("[flowscale] SKIPPING the aesthetic_clip tests. " + message);
    Assumptions.abort(message);
    throw new AssertionError("unreachable");
  }

  private static Path make() throws IOException, InterruptedException {
    Path out = Path.of("target/aesthetic-fixtures").toAbsolutePath();
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
      for (Path t : TOOLS) {
        d.update(Files.readAllBytes(t));
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  Path file(String name) {
    return dir.resolve(name);
  }
}
