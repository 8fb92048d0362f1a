package org.flowscale.bindings.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.flowscale.bindings.NativeLibraryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TorchShim#preload}: a background load that the next {@link TorchShim#get} joins, started
 * at most once, and whose failure {@code get} reports exactly as without it.
 */
class TorchShimPreloadTest {

  @Test
  void aFailedPreloadLeavesGetToReportTheSameError(@TempDir Path dir) throws Exception {
    Path fake =
        Files.writeString(dir.resolve("libflowscale_shim.so"), "not an ELF file\n".repeat(100));
    List<String> candidates = List.of(fake.toString());
    String expected =
        assertThrows(NativeLibraryException.class, () -> new TorchShim.Slot(() -> candidates).get())
            .getMessage();

    TorchShim.Slot slot = new TorchShim.Slot(() -> candidates);
    Thread t = slot.preload();
    assertNotNull(t);
    t.join();
    var e = assertThrows(NativeLibraryException.class, slot::get);
    assertEquals(expected, e.getMessage());
    assertTrue(e.getMessage().contains("invalid ELF header"), e.getMessage());
    // Every later call says the same; no second background load is started.
    assertNull(slot.preload());
    assertEquals(expected, assertThrows(NativeLibraryException.class, slot::get).getMessage());
  }

  @Test
  void aMissingShimIsReportedTheSameAfterAPreload() throws Exception {
    List<String> candidates = List.of("/nonexistent/dir/libflowscale_shim.so");
    String expected =
        assertThrows(NativeLibraryException.class, () -> new TorchShim.Slot(() -> candidates).get())
            .getMessage();
    TorchShim.Slot slot = new TorchShim.Slot(() -> candidates);
    slot.preload().join();
    assertEquals(expected, assertThrows(NativeLibraryException.class, slot::get).getMessage());
  }

  @Test
  void getDuringAPreloadWaitsForItAndEveryCallerGetsTheOneShim() throws Exception {
    String location = TorchFixtures.get().shim.location();
    AtomicInteger lookups = new AtomicInteger();
    TorchShim.Slot slot =
        new TorchShim.Slot(
            () -> {
              lookups.incrementAndGet();
              return List.of(location);
            });
    int n = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<TorchShim>> got = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        got.add(
            pool.submit(
                () -> {
                  start.await();
                  slot.preload();
                  return slot.get();
                }));
      }
      start.countDown();
      TorchShim first = got.get(0).get();
      for (Future<TorchShim> f : got) {
        assertSame(first, f.get());
      }
      assertEquals(1, lookups.get(), "the library was looked up more than once");
      assertEquals(TorchShim.ABI_VERSION, first.abiVersion());
      // Loaded: a preload now starts nothing.
      assertNull(slot.preload());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theProcessPreloadIsIdempotentAndGetReturnsTheLoadedShim() {
    TorchShim.preload();
    TorchShim.preload();
    TorchShim shim = TorchShim.get();
    assertSame(shim, TorchShim.get());
    assertEquals(TorchShim.ABI_VERSION, shim.abiVersion());
  }

  @Test
  void aShimFunctionIsLinkedOnFirstUse() {
    TorchShim shim = new TorchShim.Slot(() -> List.of(TorchFixtures.get().shim.location())).get();
    TorchShim.Downcall vjp = shim.downcall("fs_module_vjp");
    assertTrue(!vjp.linked(), "fs_module_vjp was linked before any use");
    assertNotNull(vjp.get());
    assertTrue(vjp.linked());
    assertSame(vjp.get(), vjp.get());
  }
}
