package org.flowscale.kernels;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.flowscale.bindings.cuda.EmulatedDriver;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Lifetimes on the CUDA backend: memory freed while the stream may still use it, graphs that
 * outlive what they captured, graphs that outlive the backend. Each test has its own backend. On
 * the emulated driver (a test fixture) stream work is delayed so the races are certain, and memory
 * touched after its free faults as on a GPU; on a GPU the same tests run undelayed.
 */
class CudaLifetimeTest {
  /** Long enough that work queued by the host is certainly still queued when the host goes on. */
  private static final int DELAY_US = 30_000;

  private final Random rnd = new Random(7);

  @BeforeEach
  void needsGpu() {
    EmulatedDriver.assumeUsable(new CudaParticleOpsProvider().unavailableReason());
  }

  @AfterEach
  void noFaultLeft() {
    if (EmulatedDriver.active()) {
      EmulatedDriver.setDelayMicros(0);
      String fault = EmulatedDriver.fault();
      EmulatedDriver.clearFault();
      if (fault != null) {
        fail("the test left the context faulted: " + fault);
      }
    }
  }

  private static CudaParticleOps backend() {
    return new CudaParticleOps(CudaParticleOpsProvider.ordinal());
  }

  private static void delayStreamWork() {
    if (EmulatedDriver.active()) {
      EmulatedDriver.setDelayMicros(DELAY_US);
    }
  }

  /**
   * Closing tensors (and a stream counter) right after queuing work that reads them is safe: the
   * memory is freed only once the stream has passed that work, without the host waiting for it, and
   * it is freed then.
   */
  @Test
  void closingRightAfterQueuingWorkThatUsesItIsSafe() {
    try (CudaParticleOps ops = backend()) {
      long baseline = EmulatedDriver.active() ? EmulatedDriver.liveDeviceBytes() : 0;
      int rows = 64;
      int cols = 256;
      float[] xs = new float[rows * cols];
      for (int i = 0; i < xs.length; i++) {
        xs[i] = (float) rnd.nextGaussian();
      }
      double[] c = new double[3 * rows];
      for (int i = 0; i < rows; i++) {
        c[3 * i] = 0.5 + rnd.nextDouble();
      }
      Tensor x = upload(ops, xs, rows, cols);
      Tensor coef = upload(ops, c, rows);
      Tensor out = ops.allocate(rows, cols, DType.F32);
      StreamCounter counter = ops.streamCounter(5);
      Tensor noise = ops.allocate(rows, cols, DType.F32);
      ops.synchronize();

      delayStreamWork();
      ops.affine(x, null, coef, null, out);
      ops.gaussianCounted(new CountedNoise(3, counter, 0, null), noise);
      x.close();
      coef.close();
      counter.close();
      noise.close();
      ops.synchronize();

      float[] got = download(ops, out);
      for (int i = 0; i < rows; i++) {
        float a = (float) c[3 * i];
        for (int j = 0; j < cols; j++) {
          int k = i * cols + j;
          assertEquals(a * xs[k], got[k], "out[" + i + ", " + j + "]");
        }
      }
      out.close();
      ops.synchronize();
      if (EmulatedDriver.active()) {
        assertEquals(
            baseline,
            EmulatedDriver.liveDeviceBytes(),
            "closed tensors' memory is freed once the stream is past their work");
      }
    }
  }

  /**
   * Closes without a synchronisation between them: once the stream has passed the work that used
   * them, the next call frees their memory, so an eager loop does not hold all of it until a sync.
   */
  @Test
  void closedMemoryIsFreedOnceTheStreamHasPassedItWithoutASync() {
    try (CudaParticleOps ops = backend()) {
      Tensor coef = upload(ops, new double[] {1, 0, 0}, 1);
      if (EmulatedDriver.active()) {
        EmulatedDriver.setDelayMicros(5_000); // the stream stays behind the loop
      }
      long before = EmulatedDriver.active() ? EmulatedDriver.liveDeviceBytes() : 0;
      int n = 20;
      for (int i = 0; i < n; i++) {
        Tensor t = ops.allocate(1, 1024, DType.F32);
        ops.affine(t, null, coef, null, t);
        t.close();
      }
      if (EmulatedDriver.active()) {
        long held = EmulatedDriver.liveDeviceBytes() - before;
        assertTrue(held > 4096L * n / 2, "the stream should still be using most tensors: " + held);
        // Let the stream catch up, polling with a call that queues nothing (allocate): it frees
        // what the stream has passed.
        EmulatedDriver.setDelayMicros(0);
        List<Tensor> probes = new ArrayList<>();
        long deadline = System.nanoTime() + 20_000_000_000L;
        do {
          probes.add(ops.allocate(1, 1, DType.F32));
        } while (EmulatedDriver.liveDeviceBytes() - before > 4096L * probes.size()
            && System.nanoTime() < deadline);
        assertTrue(
            EmulatedDriver.liveDeviceBytes() - before <= 4096L * probes.size(),
            "closed tensors are still held after the stream passed them");
        probes.forEach(Tensor::close);
      }
      coef.close();
      ops.synchronize();
    }
  }

  /** A graph keeps what it captured in view and refuses to replay once any of it is closed. */
  @Test
  void aGraphRefusesToLaunchOnceSomethingItUsesIsClosed() {
    try (CudaParticleOps ops = backend()) {
      Tensor x = upload(ops, new float[] {1, 2, 3, 4}, 1, 4);
      Tensor coef = upload(ops, new double[] {2, 0, 0}, 1);
      Tensor out = ops.allocate(1, 4, DType.F32);
      StreamCounter counter = ops.streamCounter(0);
      Tensor noise = ops.allocate(1, 4, DType.F32);
      CapturedWork round = ops.capture(() -> ops.affine(x, null, coef, null, out));
      CapturedWork counted =
          ops.capture(
              counter, 1, () -> ops.gaussianCounted(new CountedNoise(1, counter, 0, null), noise));
      round.launch();
      counted.launch();
      ops.synchronize();
      assertEquals(4f, download(ops, out)[1]);

      x.close();
      var e = assertThrows(IllegalStateException.class, round::launch);
      assertTrue(e.getMessage().contains("has been closed"), e.getMessage());
      counter.close();
      e = assertThrows(IllegalStateException.class, counted::launch);
      assertTrue(e.getMessage().contains("stream counter has been closed"), e.getMessage());
      ops.synchronize(); // nothing touched freed memory: the backend is healthy
      round.close();
      counted.close();
      assertThrows(IllegalStateException.class, round::launch);
      coef.close();
      out.close();
      noise.close();
    }
  }

  /**
   * Closing the backend destroys the graphs still open before the module and context they live in;
   * closing such a graph afterwards does nothing, and launching it says the backend is closed.
   */
  @Test
  void closingTheBackendDestroysItsGraphsFirst() {
    CudaParticleOps ops = backend();
    CapturedWork round;
    try {
      Tensor x = upload(ops, new float[] {1, 2, 3, 4}, 1, 4);
      Tensor coef = upload(ops, new double[] {2, 0, 0}, 1);
      Tensor out = ops.allocate(1, 4, DType.F32);
      round = ops.capture(() -> ops.affine(x, null, coef, null, out));
      round.launch();
      ops.synchronize();
    } finally {
      ops.close();
    }
    assertThrows(
        IllegalStateException.class,
        () -> round.exec().handle(),
        "the backend destroyed the graph when it closed");
    var e = assertThrows(IllegalStateException.class, round::launch);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    round.close();
  }

  // ---- helpers ----

  private static Tensor upload(CudaParticleOps ops, float[] v, int rows, int cols) {
    Tensor t = ops.allocate(rows, cols, DType.F32);
    try (Arena a = Arena.ofConfined()) {
      ops.upload(a.allocateFrom(JAVA_FLOAT, v), t);
    }
    return t;
  }

  private static Tensor upload(CudaParticleOps ops, double[] coef, int rows) {
    Tensor t = ops.allocate(rows, 3, DType.F64);
    try (Arena a = Arena.ofConfined()) {
      ops.upload(a.allocateFrom(JAVA_DOUBLE, coef), t);
    }
    return t;
  }

  private static float[] download(CudaParticleOps ops, Tensor t) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(t.byteSize(), 64);
      ops.download(t, s);
      return s.toArray(JAVA_FLOAT);
    }
  }
}
