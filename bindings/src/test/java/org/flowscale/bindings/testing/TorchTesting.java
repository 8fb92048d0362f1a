package org.flowscale.bindings.testing;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.flowscale.bindings.torch.TorchSettings;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.SafeTensors;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * What the libtorch tests of every module share (bindings, rewards, flux and the command line's,
 * through this module's test-jar): fixtures made by a Python script at test time and reused while
 * their inputs are unchanged, the test device, the skip-or-fail rule, float64 reference reading and
 * the relative error the references are met to.
 *
 * <p>Properties: {@code flowscale.python} (an interpreter with torch; default {@code
 * /usr/bin/python3}), {@code flowscale.torch.device} ({@code cpu} or {@code cuda:N}), {@code
 * flowscale.torch.required} ({@code true} in {@code bin/test}: a missing shim or PyTorch fails the
 * tests instead of skipping them).
 */
public final class TorchTesting {
  private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

  private TorchTesting() {}

  /** The interpreter that makes fixtures: {@code flowscale.python}, default /usr/bin/python3. */
  public static String python() {
    return System.getProperty("flowscale.python", "/usr/bin/python3");
  }

  /**
   * The fixtures directory named by {@code property} (made beforehand, e.g. on the GPU machine), or
   * null when the property is not set.
   */
  public static Path given(String property) throws IOException {
    String given = System.getProperty(property);
    if (given == null || given.isBlank()) {
      return null;
    }
    Path p = Path.of(given);
    if (!Files.isRegularFile(p.resolve("manifest.txt"))) {
      throw new IOException(property + "=" + p + " has no manifest.txt");
    }
    return p;
  }

  /**
   * Runs {@code python script args... out} unless {@code out} already holds a {@code manifest.txt}
   * made from the same script and {@code inputs} (a {@code stamp.txt} holds their hash).
   */
  public static Path make(Path script, List<String> args, Path out, List<Path> inputs, int seconds)
      throws IOException, InterruptedException {
    String stamp = stamp(script, inputs);
    Path stampFile = out.resolve("stamp.txt");
    if (Files.isRegularFile(out.resolve("manifest.txt"))
        && Files.isRegularFile(stampFile)
        && Files.readString(stampFile).equals(stamp)) {
      return out;
    }
    Files.createDirectories(out);
    Files.deleteIfExists(out.resolve("manifest.txt"));
    List<String> cmd = new ArrayList<>(List.of(python(), script.toString()));
    cmd.addAll(args);
    cmd.add(out.toString());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] output = p.getInputStream().readAllBytes();
    if (!p.waitFor(seconds, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(
          python()
              + " "
              + script
              + " failed (needs PyTorch: apt-get install python3-torch):\n"
              + new String(output, StandardCharsets.UTF_8));
    }
    Files.writeString(stampFile, stamp);
    return out;
  }

  /**
   * Makes (or reuses) the TorchScript modules and references of the bindings module's {@code
   * make_torch_fixtures.py} under {@code root/bindings/target/torch-fixtures}; the command line's
   * tests call this with the repository root.
   */
  public static Path torchScriptFixtures(Path root) throws IOException, InterruptedException {
    return make(
        root.resolve("bindings/src/test/python/make_torch_fixtures.py"),
        List.of(),
        root.resolve("bindings/target/torch-fixtures"),
        List.of(),
        120);
  }

  private static String stamp(Path script, List<Path> inputs) throws IOException {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(Files.readAllBytes(script));
      for (Path t : inputs) {
        d.update(Files.readAllBytes(t));
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The device of {@code flowscale.torch.device} (-1 for the CPU). On a GPU TF32 is turned off: the
   * references are float64 and TF32 convolutions (libtorch's default) would miss them.
   */
  public static int device(TorchShim shim) {
    String d = System.getProperty("flowscale.torch.device", "cpu");
    int device = TorchSettings.device(Map.of("device", d), "device", shim);
    if (device >= 0) {
      shim.setAllowTf32(false);
    }
    return device;
  }

  /** Settings' name for {@code device}: {@code cpu} or {@code cuda:N}. */
  public static String deviceName(int device) {
    return device < 0 ? "cpu" : "cuda:" + device;
  }

  /**
   * Fails ({@code flowscale.torch.required}) or skips the test because {@code what} cannot run; a
   * skip says why on stderr, as skips are easy to overlook in Maven's summary. Never returns.
   */
  public static AssertionError unavailable(String what, String why) {
    String message =
        what
            + " cannot run: "
            + why
            + "\n(bin/test installs libtorch-dev and python3-torch, builds native/ and runs them)";
    if (Boolean.getBoolean("flowscale.torch.required")) {
      Assertions.fail(message);
    }
    if (WARNED.add(what)) {
      System.err.println("[flowscale] SKIPPING the " + what + ". " + message);
    }
    Assumptions.abort(message);
    throw new AssertionError("unreachable");
  }

  /**
   * Fixtures made on first use and shared by every test of the JVM; when they cannot be made (no
   * shim, no PyTorch) every test that asks is skipped, or failed when required, with the reason.
   */
  public static final class Once<T> {
    /** Makes the fixtures. */
    public interface Maker<T> {
      T make() throws Exception;
    }

    private final String what;
    private final Maker<T> maker;
    private T value;
    private String failure;

    /** {@code what}: the tests that need them, for the skip message ("FLUX tests"). */
    public Once(String what, Maker<T> maker) {
      this.what = what;
      this.maker = maker;
    }

    /** The fixtures, or a skipped (plain {@code mvn verify}) / failed ({@code bin/test}) test. */
    public synchronized T get() {
      if (value == null && failure == null) {
        try {
          value = maker.make();
        } catch (Exception e) {
          failure = String.valueOf(e.getMessage());
        }
      }
      if (value != null) {
        return value;
      }
      throw unavailable(what, failure);
    }
  }

  /** A little-endian F64 tensor read exactly (SafeTensors.floats would round it to float). */
  public static double[] doubles(SafeTensors f, String name) {
    return doubles(f.data(name));
  }

  /** Little-endian float64 values. */
  public static double[] doubles(MemorySegment s) {
    double[] out = new double[(int) (s.byteSize() / 8)];
    for (int i = 0; i < out.length; i++) {
      out[i] = s.getAtIndex(JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
    }
    return out;
  }

  /** A little-endian I64 tensor. */
  public static long[] longs(SafeTensors f, String name) {
    MemorySegment s = f.data(name);
    long[] out = new long[(int) (s.byteSize() / 8)];
    for (int i = 0; i < out.length; i++) {
      out[i] = s.getAtIndex(JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i);
    }
    return out;
  }

  /** {@code ||a - b|| / ||b||}. */
  public static double relErr(double[] a, double[] b) {
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
