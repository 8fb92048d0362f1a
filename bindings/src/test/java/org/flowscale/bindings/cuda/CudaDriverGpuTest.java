package org.flowscale.bindings.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The driver bindings on a GPU, or on the emulated driver (a test fixture) when
 * -Dflowscale.cuda.driver names it, as bin/test does. Elsewhere every test is reported as skipped,
 * with the reason (no driver, no device).
 */
class CudaDriverGpuTest {
  private static CudaContext ctx;

  @BeforeEach
  void needsGpu() {
    EmulatedDriver.assumeUsable(CudaDevice.unavailableReason());
    if (ctx == null) {
      ctx = CudaContext.retainPrimary(0);
    }
    ctx.makeCurrent();
  }

  @AfterAll
  static void release() {
    if (ctx != null) {
      ctx.close();
    }
  }

  @Test
  void deviceIsDescribed() {
    CudaDevice d = CudaDevice.query(0);
    assertTrue(d.multiprocessors() > 0 && d.totalMemory() > 0 && !d.name().isBlank(), d::toString);
    assertTrue(CudaDriver.cuDriverGetVersion() >= 12000);
    assertEquals(ctx.handle(), CudaDriver.cuCtxGetCurrent());
  }

  @Test
  void copiesRoundTripSyncAndAsync() {
    int n = 1 << 20;
    try (Arena a = Arena.ofConfined();
        DeviceBuffer d1 = DeviceBuffer.allocate(4L * n);
        DeviceBuffer d2 = DeviceBuffer.allocate(4L * n);
        PinnedBuffer pinned = PinnedBuffer.allocate(4L * n);
        CudaStream s = CudaStream.create(true)) {
      MemorySegment host = a.allocate(JAVA_FLOAT, n);
      for (int i = 0; i < n; i++) {
        host.setAtIndex(JAVA_FLOAT, i, i * 0.25f);
      }
      d1.copyFromHost(host, 4L * n);
      d1.copyToAsync(d2, 4L * n, s);
      d2.copyToHostAsync(pinned.segment(), 4L * n, s);
      s.synchronize();
      assertEquals(-1, pinned.segment().mismatch(host));
      CudaDriver.cuMemsetD32Async(d2.address(), Float.floatToRawIntBits(3f), n, s.handle());
      s.synchronize();
      d2.copyToHost(host, 4L * n);
      assertEquals(3f, host.getAtIndex(JAVA_FLOAT, n - 1));
    }
  }

  @Test
  void failingCallsBecomeExceptionsWithTheDriversText() {
    var e = assertThrows(CudaException.class, () -> CudaDriver.cuMemFree(0xdead0000L));
    assertEquals("cuMemFree_v2", e.function());
    assertTrue(e.errorName().startsWith("CUDA_ERROR_"), e::getMessage);
    assertEquals("CUDA_ERROR_INVALID_VALUE", CudaDriver.errorName(1));
    assertThrows(CudaException.class, () -> DeviceBuffer.allocate(1L << 60));
    byte[] garbage = "this is not PTX".getBytes(StandardCharsets.US_ASCII);
    var m = assertThrows(CudaException.class, () -> CudaModule.load(garbage));
    assertEquals("cuModuleLoadDataEx", m.function());
  }

  /**
   * A module the driver cannot take says why: the JIT's error log is in the exception (here a PTX
   * ISA version newer than any driver's, the mismatch a stale driver meets).
   */
  @Test
  void aModuleTheDriverRejectsCarriesTheJitLog() {
    String ptx =
        """
        .version 99.9
        .target sm_90
        .address_size 64
        .visible .entry nothing() { ret; }
        """;
    var e =
        assertThrows(
            CudaException.class, () -> CudaModule.load(ptx.getBytes(StandardCharsets.US_ASCII)));
    assertEquals("cuModuleLoadDataEx", e.function());
    assertTrue(
        e.getMessage().contains("JIT error log") && e.getMessage().contains("99.9"), e::getMessage);
  }

  @Test
  void ptxLoadsLaunchesAndCapturesIntoAGraph() {
    String ptx =
        """
          .version 8.0
          .target sm_90
          .address_size 64
          .visible .entry add_one(.param .u64 p, .param .u32 n) {
            .reg .u32 %r<4>; .reg .u64 %rd<4>; .reg .f32 %f<3>; .reg .pred %q;
            ld.param.u64 %rd1, [p]; ld.param.u32 %r1, [n];
            mov.u32 %r2, %tid.x; setp.ge.u32 %q, %r2, %r1; @%q ret;
            cvta.to.global.u64 %rd2, %rd1; mul.wide.u32 %rd3, %r2, 4; add.u64 %rd2, %rd2, %rd3;
            ld.global.f32 %f1, [%rd2]; add.f32 %f2, %f1, 0f3F800000; st.global.f32 [%rd2], %f2;
            ret;
          }
          """;
    int n = 256;
    try (Arena a = Arena.ofConfined();
        CudaModule mod = CudaModule.load(ptx.getBytes(StandardCharsets.US_ASCII));
        DeviceBuffer buf = DeviceBuffer.allocate(4L * n);
        CudaStream s = CudaStream.create(true);
        CudaEvent start = CudaEvent.create();
        CudaEvent end = CudaEvent.create();
        KernelArgs args = new KernelArgs()) {
      CudaFunction f = mod.function("add_one");
      var missing = assertThrows(CudaException.class, () -> mod.function("no_such_kernel"));
      assertTrue(missing.function().contains("no_such_kernel"));
      CudaDriver.cuMemsetD32Async(buf.address(), 0, n, s.handle());
      args.i64(0, buf.address()).i32(1, n);
      start.record(s);
      f.launch(1, 1, n, 1, 0, s, args);
      end.record(s);
      assertTrue(start.elapsedMillisTo(end) >= 0);
      s.beginCapture();
      f.launch(1, 1, n, 1, 0, s, args);
      f.launch(1, 1, n, 1, 0, s, args);
      try (CudaGraph g = s.endCapture();
          CudaGraphExec exec = g.instantiate()) {
        exec.launch(s);
        exec.launch(s);
      }
      s.synchronize();
      MemorySegment out = a.allocate(JAVA_FLOAT, n);
      buf.copyToHost(out, 4L * n);
      float[] expect = new float[n];
      java.util.Arrays.fill(expect, 5f);
      assertArrayEquals(expect, out.toArray(JAVA_FLOAT));
      assertThrows(IllegalArgumentException.class, () -> f.launch(0, 1, n, 1, 0, s, args));
    }
  }
}
