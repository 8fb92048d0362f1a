package org.flowscale.api.testing;

import java.util.Map;
import org.flowscale.engine.model.TransientFailure;
import org.flowscale.engine.ops.NativeFailure;

/**
 * The failures the test model and rewards throw on purpose ({@code fail_with}), one per kind the
 * library maps to its own exceptions.
 */
public final class TestFailures {
  private TestFailures() {}

  /** A failure as native code reports it (libtorch, the CUDA driver). */
  public static final class Native extends RuntimeException implements NativeFailure {
    private final boolean contextLost;

    Native(String message, boolean contextLost) {
      super(message);
      this.contextLost = contextLost;
    }

    @Override
    public boolean contextLost() {
      return contextLost;
    }
  }

  /** A failure that may pass (a remote server that timed out). */
  public static final class Transient extends RuntimeException implements TransientFailure {
    Transient(String message) {
      super(message);
    }
  }

  /**
   * The exception a {@code fail_with} key names: {@code error} (the default, a plain bug), {@code
   * native}, {@code device_lost} (native, the device context lost) or {@code transient}.
   */
  static RuntimeException of(Map<String, Object> settings, String key, String what) {
    Object kind = settings.getOrDefault(key, "error");
    String message = what + " failed on purpose";
    return switch (String.valueOf(kind)) {
      case "error" -> new IllegalStateException(message);
      case "native" -> new Native(message + " (native)", false);
      case "device_lost" -> new Native(message + " (device lost)", true);
      case "transient" -> new Transient(message + " (transient)");
      default ->
          throw new IllegalArgumentException(
              key + " must be error, native, device_lost or transient, got " + kind);
    };
  }

  /** Checks a {@code fail_with} key when the settings are loaded. */
  static void check(Map<String, Object> settings, String key) {
    of(settings, key, "check");
  }
}
