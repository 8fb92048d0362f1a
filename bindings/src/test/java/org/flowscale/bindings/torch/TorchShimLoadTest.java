package org.flowscale.bindings.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flowscale.bindings.NativeLibraryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding and checking the shim library: what was looked for and where, and why it failed. */
class TorchShimLoadTest {

  @Test
  void missingLibrarySaysWhereItLooked() {
    var e =
        assertThrows(
            NativeLibraryException.class,
            () -> TorchShim.loadLibrary(List.of("/nonexistent/dir/libflowscale_shim.so")));
    assertTrue(
        e.getMessage().contains("/nonexistent/dir/libflowscale_shim.so: no such file"),
        e.getMessage());
    assertTrue(e.getMessage().contains("cmake -S native"), e.getMessage());
  }

  @Test
  void aFileThatIsNoLibraryGivesTheLoadersReason(@TempDir Path dir) throws Exception {
    Path fake =
        Files.writeString(dir.resolve("libflowscale_shim.so"), "not an ELF file\n".repeat(100));
    var e =
        assertThrows(
            NativeLibraryException.class, () -> TorchShim.loadLibrary(List.of(fake.toString())));
    assertTrue(e.getMessage().contains(fake.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("invalid ELF header"), e.getMessage());
  }

  @Test
  void aLibraryWithoutTheShimAbiIsRefused() {
    // libm loads fine but is not a flowscale shim.
    var e =
        assertThrows(
            NativeLibraryException.class, () -> TorchShim.loadLibrary(List.of("libm.so.6")));
    assertTrue(e.getMessage().contains("not a flowscale shim"), e.getMessage());
  }

  @Test
  void configuredPathIsTheOnlyCandidate() {
    String old = System.getProperty(TorchShim.PROPERTY);
    try {
      System.setProperty(TorchShim.PROPERTY, "/elsewhere/libflowscale_shim.so");
      List<String> c = TorchShim.candidates();
      assertEquals(1, c.size());
      assertTrue(c.get(0).startsWith("/elsewhere/libflowscale_shim.so (from system property"));
      assertTrue(
          TorchShim.defaultCandidates().stream()
              .anyMatch(s -> s.endsWith("native/build/libflowscale_shim.so")));
    } finally {
      if (old == null) {
        System.clearProperty(TorchShim.PROPERTY);
      } else {
        System.setProperty(TorchShim.PROPERTY, old);
      }
    }
  }

  @Test
  void versionsOfTheLoadedShim() {
    TorchShim shim = TorchFixtures.get().shim;
    assertEquals(TorchShim.ABI_VERSION, shim.abiVersion());
    assertTrue(shim.torchVersion().matches("[12]\\.[0-9]+\\..*"), shim.torchVersion());
    assertTrue(shim.shimVersion().matches("[0-9]+\\.[0-9]+\\.[0-9]+"), shim.shimVersion());
    shim.setAllowTf32(true); // a process-wide flag: accepted with or without CUDA
    shim.setAllowTf32(TorchFixtures.get().device < 0);
    if (!shim.builtWithCuda()) {
      var e = assertThrows(TorchException.class, () -> shim.cudaStream(0));
      assertTrue(e.getMessage().contains("built without CUDA"), e.getMessage());
    } else if (shim.cudaDeviceCount() > 0) {
      // The default stream round-trips (its handle is the legacy null stream, 0).
      shim.setCudaStream(0, 0);
      assertEquals(0, shim.cudaStream(0));
      shim.cudaSynchronize(0);
      var e =
          assertThrows(
              TorchException.class, () -> shim.cudaSynchronize(shim.cudaDeviceCount() + 3));
      assertTrue(e.getMessage().contains("CUDA synchronize"), e.getMessage());
    }
  }
}
