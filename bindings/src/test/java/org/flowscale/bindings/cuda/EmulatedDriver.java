package org.flowscale.bindings.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;
import org.flowscale.bindings.NativeLibrary;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Test support for the GPU test suites and the emulated CUDA driver, a test fixture
 * (kernels/src/test/emulated-driver) that stands in for {@code libcuda.so.1} when the tests run
 * with {@code -Dflowscale.cuda.driver=PATH} (as {@code bin/test} does). On the emulator the hooks
 * below inject delays and read what a GPU would not tell; against a real driver {@link #active()}
 * is false and tests that need the hooks skip them.
 */
public final class EmulatedDriver {
  private EmulatedDriver() {}

  /** The system property naming the driver library to load instead of {@code libcuda.so.1}. */
  public static final String DRIVER_PROPERTY = "flowscale.cuda.driver";

  /**
   * Skips the calling test when the CUDA device cannot be used ({@code why} present), with the
   * reason "needs a CUDA GPU: ...". When a driver was named with {@value #DRIVER_PROPERTY} but it
   * does not load or start, fails instead: a run that asked for a driver must not pass by skipping.
   */
  public static void assumeUsable(Optional<String> why) {
    if (why.isEmpty()) {
      return;
    }
    String named = System.getProperty(DRIVER_PROPERTY);
    Optional<String> driver = CudaDevice.unavailableReason();
    if (named != null && driver.isPresent()) {
      Assertions.fail(DRIVER_PROPERTY + " names " + named + ", but it cannot run: " + driver.get());
    }
    Assumptions.assumeTrue(false, "needs a CUDA GPU: " + why.get());
  }

  /** Whether the loaded driver is the emulator (the hooks work). */
  public static boolean active() {
    return Hooks.LIB != null;
  }

  /** Delays every piece of stream work by {@code micros} (0: none), making races certain. */
  public static void setDelayMicros(int micros) {
    need();
    try {
      Hooks.SET_DELAY.invokeExact(micros);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The number of launches of {@code kernel} so far, captures included. */
  public static int launches(String kernel) {
    return lastLaunch(kernel, new int[6]);
  }

  /**
   * The grid and block (x, y, z each) of the last launch of {@code kernel}, or null if it was never
   * launched.
   */
  public static int[] lastLaunch(String kernel) {
    int[] dims = new int[6];
    return lastLaunch(kernel, dims) == 0 ? null : dims;
  }

  private static int lastLaunch(String kernel, int[] dims) {
    need();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT, 6);
      int n = (int) Hooks.LAST_LAUNCH.invokeExact(a.allocateFrom(kernel), out);
      for (int i = 0; i < 6; i++) {
        dims[i] = out.getAtIndex(JAVA_INT, i);
      }
      return n;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The sticky error that faulting work left on the primary context, or null if none. */
  public static String fault() {
    need();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment buf = a.allocate(4096);
      int code = (int) Hooks.FAULT.invokeExact(buf, 4096);
      return code == 0 ? null : CudaDriver.errorName(code) + ": " + buf.getString(0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Clears the sticky error, so one test's fault does not fail the tests after it. */
  public static void clearFault() {
    need();
    try {
      Hooks.CLEAR_FAULT.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Bytes of device memory allocated and not yet freed. */
  public static long liveDeviceBytes() {
    need();
    try {
      return (long) Hooks.LIVE_BYTES.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static void need() {
    if (!active()) {
      throw new IllegalStateException(
          "the emulated CUDA driver is not loaded (-D" + DRIVER_PROPERTY + "=PATH)");
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  private static final class Hooks {
    static final NativeLibrary LIB = load();
    static final MethodHandle SET_DELAY =
        bind("fsemu_set_delay_us", FunctionDescriptor.ofVoid(JAVA_INT));
    static final MethodHandle LAST_LAUNCH =
        bind("fsemu_last_launch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle FAULT =
        bind("fsemu_fault", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle CLEAR_FAULT = bind("fsemu_clear_fault", FunctionDescriptor.ofVoid());
    static final MethodHandle LIVE_BYTES =
        bind("fsemu_live_device_bytes", FunctionDescriptor.of(JAVA_LONG));

    private static NativeLibrary load() {
      String path = System.getProperty(DRIVER_PROPERTY);
      if (path == null || CudaDriver.unavailableReason().isPresent()) {
        return null;
      }
      try {
        // The same file the driver bindings loaded: dlopen hands back the same library.
        NativeLibrary lib =
            NativeLibrary.load("the CUDA driver named by " + DRIVER_PROPERTY, List.of(path));
        return lib.has("fsemu_version") ? lib : null;
      } catch (RuntimeException e) {
        return null; // the bindings fell back to another driver
      }
    }

    private static MethodHandle bind(String name, FunctionDescriptor d) {
      if (LIB == null) {
        return null;
      }
      return LIB.function(name, d);
    }
  }
}
