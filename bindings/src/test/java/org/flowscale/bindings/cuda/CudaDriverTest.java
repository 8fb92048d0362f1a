package org.flowscale.bindings.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.flowscale.bindings.NativeLibraryException;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class CudaDriverTest {

  /** Runs everywhere: a machine without a driver must say so clearly and never crash. */
  @Nested
  class WithoutDriver {
    @Test
    void missingDriverIsAClearExceptionNotACrash() throws Exception {
      if (CudaDriver.unavailableReason().isPresent()) {
        NoDriverCheck.main(new String[0]);
        return;
      }
      // A driver is loaded in this JVM (a GPU's, or the emulated one bin/test names): check in a
      // fresh JVM whose named driver file does not exist.
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p =
          new ProcessBuilder(
                  java,
                  "--enable-native-access=ALL-UNNAMED",
                  "-cp",
                  System.getProperty("java.class.path"),
                  "-D" + EmulatedDriver.DRIVER_PROPERTY + "=/nonexistent/libcuda.so.1",
                  NoDriverCheck.class.getName())
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish");
      assumeTrue(
          p.exitValue() != NoDriverCheck.DRIVER_FOUND,
          "libcuda.so.1 loads here; the no-driver behaviour cannot be checked");
      assertEquals(0, p.exitValue(), () -> "without a driver:\n" + out);
    }
  }

  /** The no-driver checks, run in a JVM where no driver loads. */
  public static final class NoDriverCheck {
    static final int DRIVER_FOUND = 3;

    public static void main(String[] args) {
      var why = CudaDriver.unavailableReason();
      if (why.isEmpty()) {
        System.exit(DRIVER_FOUND);
      }
      assertTrue(why.get().contains("libcuda.so.1"), why.get());
      var e = assertThrows(NativeLibraryException.class, () -> CudaDriver.cuInit(0));
      assertEquals(why.get(), e.getMessage());
      assertThrows(NativeLibraryException.class, () -> DeviceBuffer.allocate(16));
      assertTrue(CudaDevice.unavailableReason().isPresent());
    }
  }

  @Test
  void exceptionCarriesFunctionNameAndDriverText() {
    var e = new CudaException("cuMemAlloc_v2", 2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory");
    assertEquals(
        "cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", e.getMessage());
    assertEquals("cuMemAlloc_v2", e.function());
    assertEquals(2, e.code());
    assertEquals("CUDA_ERROR_OUT_OF_MEMORY", e.errorName());
    assertEquals("out of memory", e.errorText());
  }

  @Test
  void kernelArgsPointAtTheirSlots() {
    try (KernelArgs a = new KernelArgs()) {
      a.i64(0, 0x1122334455667788L).i32(1, -7).f64(2, 0.5);
      MemorySegment p = a.pointers();
      MemorySegment s0 = p.getAtIndex(java.lang.foreign.ValueLayout.ADDRESS, 0).reinterpret(8);
      MemorySegment s1 = p.getAtIndex(java.lang.foreign.ValueLayout.ADDRESS, 1).reinterpret(8);
      MemorySegment s2 = p.getAtIndex(java.lang.foreign.ValueLayout.ADDRESS, 2).reinterpret(8);
      assertEquals(0x1122334455667788L, s0.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0));
      assertEquals(-7, s1.get(JAVA_INT, 0));
      assertEquals(0.5, s2.get(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 0));
      assertThrows(IllegalArgumentException.class, () -> a.i32(KernelArgs.MAX, 1));
    }
  }
}
