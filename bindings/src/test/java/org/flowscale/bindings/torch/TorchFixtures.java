package org.flowscale.bindings.torch;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.testing.TorchTesting;

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
  private static final TorchTesting.Once<TorchFixtures> FIXTURES =
      new TorchTesting.Once<>(
          "libtorch tests",
          () -> {
            TorchShim shim = TorchShim.get();
            return new TorchFixtures(shim, make(), TorchTesting.device(shim));
          });

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
  static TorchFixtures get() {
    return FIXTURES.get();
  }

  private static Path make() throws IOException, InterruptedException {
    Path given = TorchTesting.given("flowscale.torch.fixtures");
    if (given != null) {
      return given;
    }
    return TorchTesting.torchScriptFixtures(Path.of("..").toAbsolutePath().normalize());
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

  static List<String> names() {
    return List.of("velocity_mlp.pt", "reward_cnn.pt", "gaussian_velocity.pt");
  }
}
