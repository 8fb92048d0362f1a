package org.flowscale.bindings.torch;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The libtorch test fixtures: the shim, and TorchScript modules with reference results made by
 * {@code src/test/python/make_torch_fixtures.py} at test time.
 *
 * <p>Properties: {@code flowscale.shim} (the library; see {@link TorchShim}), {@code
 * flowscale.python} (an interpreter with torch; default {@code /usr/bin/python3}), {@code
 * flowscale.torch.fixtures} (a directory with fixtures made beforehand; else they are made into
 * {@code target/torch-fixtures}), {@code flowscale.torch.device} ({@code cpu} or {@code cuda:N}:
 * where the tests put modules and tensors), {@code flowscale.torch.required} ({@code true} in
 * {@code bin/test}: a missing shim or Python fails the tests instead of skipping them).
 */
final class TorchFixtures {
  private static TorchFixtures instance;
  private static String unavailable;
  private static boolean warned;

  final TorchShim shim;
  final Path dir;
  final int device;
  private final Map<String, long[]> shapes = new HashMap<>();
  private final Map<String, double[]> values = new HashMap<>();
  private final Map<String, Double> scalars = new HashMap<>();

  private TorchFixtures(TorchShim shim, Path dir, int device) throws IOException {
    this.shim = shim;
    this.dir = dir;
    this.device = device;
    for (String line : Files.readAllLines(dir.resolve("manifest.txt"))) {
      String[] f = line.trim().split(" ");
      switch (f[0]) {
        case "tensor" -> {
          long[] shape = new long[f.length - 3];
          for (int i = 0; i < shape.length; i++) {
            shape[i] = Long.parseLong(f[3 + i]);
          }
          shapes.put(f[1], shape);
          values.put(f[1], read(dir.resolve(f[1] + ".bin"), f[2]));
        }
        case "scalar" -> scalars.put(f[1], Double.parseDouble(f[2]));
        default -> {}
      }
    }
  }

  /** The fixtures, or a skipped (plain {@code mvn verify}) / failed ({@code bin/test}) test. */
  static synchronized TorchFixtures get() {
    if (instance != null) {
      return instance;
    }
    if (unavailable == null) {
      try {
        TorchShim shim = TorchShim.get();
        int device = device(shim);
        if (device >= 0) {
          // The references are float64: TF32 convolutions (libtorch's default) would miss them.
          shim.setAllowTf32(false);
        }
        instance = new TorchFixtures(shim, make(), device);
        return instance;
      } catch (RuntimeException | IOException | InterruptedException e) {
        unavailable = e.getMessage();
      }
    }
    String message =
        "libtorch tests cannot run: "
            + unavailable
            + "\n(bin/test installs libtorch-dev and python3-torch, builds native/ and runs them)";
    if (Boolean.getBoolean("flowscale.torch.required")) {
      Assertions.fail(message);
    }
    if (!warned) {
      warned = true;
      // Skips are easy to overlook in Maven's summary; say once why these tests did not run.
      System.err.println("[flowscale] SKIPPING the libtorch tests. " + message);
    }
    Assumptions.abort(message);
    throw new AssertionError("unreachable");
  }

  private static int device(TorchShim shim) {
    String d = System.getProperty("flowscale.torch.device", "cpu");
    return TorchSettings.device(Map.of("device", d), "device", shim);
  }

  private static Path make() throws IOException, InterruptedException {
    String given = System.getProperty("flowscale.torch.fixtures");
    if (given != null && !given.isBlank()) {
      Path p = Path.of(given);
      if (!Files.isRegularFile(p.resolve("manifest.txt"))) {
        throw new IOException("flowscale.torch.fixtures=" + p + " has no manifest.txt");
      }
      return p;
    }
    Path script = Path.of("src/test/python/make_torch_fixtures.py");
    Path out = Path.of("target/torch-fixtures");
    String python = System.getProperty("flowscale.python", "/usr/bin/python3");
    Process p =
        new ProcessBuilder(python, script.toString(), out.toString())
            .redirectErrorStream(true)
            .start();
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(
          python
              + " "
              + script
              + " failed (needs PyTorch: apt-get install python3-torch):\n"
              + new String(output, StandardCharsets.UTF_8));
    }
    return out;
  }

  private static double[] read(Path file, String dtype) throws IOException {
    MemorySegment s = MemorySegment.ofArray(Files.readAllBytes(file));
    boolean f32 = dtype.equals("F32");
    int n = (int) (s.byteSize() / (f32 ? 4 : 8));
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = f32 ? s.getAtIndex(JAVA_FLOAT_UNALIGNED, i) : s.getAtIndex(JAVA_DOUBLE_UNALIGNED, i);
    }
    return out;
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  double[] values(String name) {
    double[] v = values.get(name);
    if (v == null) {
      throw new IllegalArgumentException("no fixture tensor " + name + " in " + dir);
    }
    return v.clone();
  }

  long[] shape(String name) {
    return shapes.get(name).clone();
  }

  double scalar(String name) {
    return scalars.get(name);
  }

  float[] floats(String name) {
    double[] v = values(name);
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return f;
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

  static List<String> names() {
    return List.of("velocity_mlp.pt", "reward_cnn.pt", "gaussian_velocity.pt");
  }
}
