package org.flowscale.bindings.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.NativeTensor;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * Native failures become {@link TorchException}s with libtorch's message, one after another in the
 * same JVM, and a correct call still works afterwards.
 */
class TorchErrorsTest {
  private static final long[] SHAPE = {3, 8, 8};

  @Test
  void failuresInARowThenASuccess() {
    TorchFixtures fx = TorchFixtures.get();
    TorchShim shim = fx.shim;
    try (CpuParticleOps ops = new CpuParticleOps()) {
      TorchTensors tensors = new TorchTensors(fx, ops);
      for (int round = 0; round < 3; round++) {
        // A missing file.
        var missing =
            assertThrows(
                TorchException.class, () -> shim.load(Path.of("/nonexistent/model.pt"), fx.device));
        assertTrue(missing.getMessage().contains("/nonexistent/model.pt"), missing.getMessage());
        assertTrue(
            missing.getMessage().contains("open file failed")
                || missing.getMessage().contains("No such file"),
            missing.getMessage());

        // A corrupt file.
        var corrupt =
            assertThrows(TorchException.class, () -> shim.load(fx.file("corrupt.pt"), fx.device));
        assertTrue(corrupt.getMessage().contains("corrupt.pt"), corrupt.getMessage());
        assertTrue(corrupt.getMessage().length() > 60, corrupt.getMessage());

        try (var mlp =
                new TorchScriptVelocityModel(
                    shim,
                    shim.load(fx.file("velocity_mlp.pt"), fx.device),
                    new long[] {100},
                    null);
            Tensor x = tensors.of(new double[5 * 100], 5, 100, DType.F32);
            Tensor t = tensors.of(new double[5], 5, 1, DType.F64);
            Tensor out = tensors.allocate(5, 100, DType.F32)) {
          // The wrong input shape: the module's first layer wants 192 + 1 values per row.
          var shape = assertThrows(TorchException.class, () -> mlp.velocity(ops, x, t, out));
          assertTrue(shape.getMessage().contains("forward"), shape.getMessage());
          // The actual error leads; the TorchScript traceback follows.
          String first = shape.getMessage().lines().findFirst().orElse("");
          assertTrue(first.startsWith("forward: ") && first.contains("5x101"), shape.getMessage());
          assertTrue(shape.getMessage().contains("TorchScript"), shape.getMessage());
        }

        try (TorchModule m = shim.load(fx.file("velocity_mlp.pt"), fx.device);
            Tensor x = tensors.of(new double[5 * 192], 5, 192, DType.F64);
            Tensor t = tensors.of(new double[5], 5, 1, DType.F64);
            Tensor out = tensors.allocate(5, 192, DType.F32)) {
          // The wrong dtype: F64 particles into a float32 module.
          var dtype =
              assertThrows(
                  TorchException.class,
                  () ->
                      m.forward(
                          List.of(
                              TensorDesc.of((NativeTensor) x, 5, 3, 8, 8),
                              TensorDesc.of((NativeTensor) t, 5)),
                          List.of(TensorDesc.of((NativeTensor) out, 5, 3, 8, 8))));
          assertTrue(
              dtype.getMessage().toLowerCase().contains("double")
                  || dtype.getMessage().toLowerCase().contains("dtype"),
              dtype.getMessage());
        }

        try (TorchModule m = shim.load(fx.file("tuple_out.pt"), fx.device);
            Tensor x = tensors.of(new double[10], 5, 2, DType.F32);
            Tensor out = tensors.allocate(5, 2, DType.F32)) {
          // Two results, one buffer.
          var count =
              assertThrows(
                  TorchException.class,
                  () ->
                      m.forward(
                          List.of(TensorDesc.of((NativeTensor) x, 5, 2)),
                          List.of(TensorDesc.of((NativeTensor) out, 5, 2))));
          assertTrue(count.getMessage().contains("returned 2 tensor(s)"), count.getMessage());
          // A result that does not fit its buffer: [5] into [1, 5] (same count, other rows).
          try (Tensor small = tensors.allocate(1, 5, DType.F32)) {
            var fit =
                assertThrows(
                    TorchException.class,
                    () ->
                        m.forward(
                            List.of(TensorDesc.of((NativeTensor) x, 5, 2)),
                            List.of(
                                TensorDesc.of((NativeTensor) out, 5, 2),
                                TensorDesc.of((NativeTensor) small, 1, 5))));
            assertTrue(fit.getMessage().contains("does not fit"), fit.getMessage());
          }
        }

        // A reward with the wrong image shape: libtorch's conv2d complains.
        try (var r =
                new TorchScriptReward(
                    shim, shim.load(fx.file("reward_cnn.pt"), fx.device), new long[] {192});
            Tensor x = tensors.of(new double[5 * 192], 5, 192, DType.F32);
            Tensor s = tensors.allocate(5, 1, DType.F64)) {
          var conv = assertThrows(TorchException.class, () -> r.score(ops, x, s));
          assertTrue(conv.getMessage().toLowerCase().contains("conv"), conv.getMessage());
        }
      }

      // Still alive: the right call gives the right answer.
      try (var mlp =
              new TorchScriptVelocityModel(
                  shim, shim.load(fx.file("velocity_mlp.pt"), fx.device), SHAPE, null);
          Tensor x = tensors.of(fx.values("x"), 5, 192, DType.F32);
          Tensor t = tensors.of(fx.values("t"), 5, 1, DType.F64);
          Tensor out = tensors.allocate(5, 192, DType.F32)) {
        mlp.velocity(ops, x, t, out);
        assertTrue(TorchTesting.relErr(tensors.read(out), fx.values("velocity")) < 1e-5);
      }
    }
  }

  @Test
  void theLastErrorIsPerThread() throws Exception {
    TorchFixtures fx = TorchFixtures.get();
    var e =
        assertThrows(
            TorchException.class, () -> fx.shim.load(Path.of("/nonexistent/a.pt"), fx.device));
    // Another thread's failure does not overwrite the message this thread reads.
    String other =
        CompletableFuture.supplyAsync(
                () -> {
                  try {
                    fx.shim.load(Path.of("/nonexistent/b.pt"), fx.device);
                    return "no failure";
                  } catch (TorchException x) {
                    return x.getMessage();
                  }
                })
            .get();
    assertTrue(other.contains("/nonexistent/b.pt"), other);
    var again =
        assertThrows(
            TorchException.class, () -> fx.shim.load(Path.of("/nonexistent/a.pt"), fx.device));
    assertEquals(e.getMessage(), again.getMessage());
  }

  @Test
  void aClosedModuleIsRefusedInJava() {
    TorchFixtures fx = TorchFixtures.get();
    TorchModule m = fx.shim.load(fx.file("tuple_out.pt"), fx.device);
    m.close();
    m.close(); // idempotent
    var e = assertThrows(IllegalStateException.class, () -> m.forward(List.of()));
    assertTrue(e.getMessage().contains("closed"));
  }
}
