package org.flowscale.bindings.torch;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Test tensors on the device under test: {@link org.flowscale.engine.ops.cpu.CpuTensor}s on the
 * host, shim-owned {@link TorchTensor}s on CUDA (both passed to libtorch without copies).
 */
final class TorchTensors {
  private final TorchFixtures fx;
  private final ParticleOps ops;

  TorchTensors(TorchFixtures fx, ParticleOps ops) {
    this.fx = fx;
    this.ops = ops;
  }

  Tensor allocate(int rows, int cols, DType dtype) {
    return fx.device < 0
        ? ops.allocate(rows, cols, dtype)
        : fx.shim.empty(TorchDType.of(dtype), fx.device, rows, cols);
  }

  Tensor of(double[] values, int rows, int cols, DType dtype) {
    Tensor t = allocate(rows, cols, dtype);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate((long) values.length * dtype.bytes(), 8);
      for (int i = 0; i < values.length; i++) {
        switch (dtype) {
          case F32 -> host.setAtIndex(JAVA_FLOAT, i, (float) values[i]);
          case F64 -> host.setAtIndex(JAVA_DOUBLE, i, values[i]);
          default -> throw new IllegalArgumentException(dtype.toString());
        }
      }
      if (t instanceof TorchTensor tt) {
        fx.shim.copy(
            new TensorDesc(host.address(), new long[] {rows, cols}, TorchDType.of(dtype), -1),
            tt.desc());
      } else {
        ops.upload(host, t);
      }
    }
    return t;
  }

  double[] read(Tensor t) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment host = arena.allocate(t.byteSize(), 8);
      if (t instanceof TorchTensor tt) {
        fx.shim.copy(
            tt.desc(),
            new TensorDesc(
                host.address(), new long[] {t.rows(), t.cols()}, TorchDType.of(t.dtype()), -1));
      } else {
        ops.download(t, host);
      }
      double[] out = new double[(int) t.elements()];
      for (int i = 0; i < out.length; i++) {
        out[i] =
            t.dtype() == DType.F64
                ? host.getAtIndex(JAVA_DOUBLE, i)
                : host.getAtIndex(JAVA_FLOAT, i);
      }
      return out;
    }
  }
}
