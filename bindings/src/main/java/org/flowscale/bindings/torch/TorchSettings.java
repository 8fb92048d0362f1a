package org.flowscale.bindings.torch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.model.FactorySettings;

/**
 * Reads and checks the settings of libtorch-backed factories (TorchScript, FLUX); every failure
 * names its key.
 */
public final class TorchSettings {
  private TorchSettings() {}

  /** An existing TorchScript file named by a required string setting. */
  public static Path file(Map<String, Object> settings, String key) {
    return file(settings, key, "a TorchScript file (torch.jit.save)", false);
  }

  /**
   * An existing file (or, with {@code directoryToo}, directory) named by a required string setting;
   * {@code what} says what it should be, for the message.
   */
  public static Path file(
      Map<String, Object> settings, String key, String what, boolean directoryToo) {
    Object v = settings.get(key);
    if (!(v instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException(
          key + " must name " + what + ", got " + FactorySettings.describe(v));
    }
    Path p = Path.of(s);
    if (!Files.isRegularFile(p) && !(directoryToo && Files.isDirectory(p))) {
      throw new IllegalArgumentException(
          key
              + ": no such "
              + (directoryToo ? "file or directory " : "file ")
              + p.toAbsolutePath().normalize());
    }
    return p;
  }

  /** A shape of positive sizes, or null when the key is absent. */
  static long[] shape(Map<String, Object> settings, String key) {
    Object v = settings.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof List<?> list) || list.isEmpty() || list.size() >= TensorDesc.MAX_DIMS) {
      throw new IllegalArgumentException(
          key
              + " must be a list of 1 to 7 positive sizes, e.g. [3, 64, 64], got "
              + FactorySettings.describe(v));
    }
    long[] out = new long[list.size()];
    for (int i = 0; i < out.length; i++) {
      Object e = list.get(i);
      if (!(e instanceof Number n) || n.doubleValue() != n.longValue() || n.longValue() <= 0) {
        throw new IllegalArgumentException(
            key + "[" + i + "] must be a positive integer, got " + FactorySettings.describe(e));
      }
      out[i] = n.longValue();
    }
    return out;
  }

  /** A list of finite numbers, or null when the key is absent. */
  static float[] floats(Map<String, Object> settings, String key) {
    Object v = settings.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof List<?> list) || list.isEmpty()) {
      throw new IllegalArgumentException(
          key + " must be a non-empty list of numbers, got " + FactorySettings.describe(v));
    }
    float[] out = new float[list.size()];
    for (int i = 0; i < out.length; i++) {
      if (!(list.get(i) instanceof Number n) || !Double.isFinite(n.doubleValue())) {
        throw new IllegalArgumentException(
            key
                + "["
                + i
                + "] must be a finite number, got "
                + FactorySettings.describe(list.get(i)));
      }
      out[i] = n.floatValue();
    }
    return out;
  }

  /**
   * The device: {@code cpu} (default) is -1; {@code cuda} is 0; {@code cuda:N} is N. A CUDA device
   * libtorch does not see is refused here, not at the first forward.
   */
  public static int device(Map<String, Object> settings, String key, TorchShim shim) {
    Object v = settings.getOrDefault(key, "cpu");
    if (!(v instanceof String s)) {
      throw new IllegalArgumentException(
          key + " must be cpu, cuda or cuda:N, got " + FactorySettings.describe(v));
    }
    int device;
    if (s.equals("cpu")) {
      return -1;
    } else if (s.equals("cuda")) {
      device = 0;
    } else if (s.startsWith("cuda:") && s.substring(5).matches("[0-9]{1,3}")) {
      device = Integer.parseInt(s.substring(5));
    } else {
      throw new IllegalArgumentException(key + " must be cpu, cuda or cuda:N, got '" + s + "'");
    }
    int count = shim.cudaDeviceCount();
    if (device >= count) {
      throw new IllegalArgumentException(
          key
              + ": "
              + s
              + " requested, but libtorch "
              + shim.torchVersion()
              + " sees "
              + count
              + " CUDA device(s)"
              + (shim.builtWithCuda() ? "" : " (the shim was built without CUDA)"));
    }
    return device;
  }
}
