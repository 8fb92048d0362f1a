package org.flowscale.engine.toy;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuTensor;

/**
 * Moves tensors of any backend to and from Java arrays for the toy world's host-side math. CPU
 * tensors are read in place; others go through {@link ParticleOps#download}/{@link
 * ParticleOps#upload} with a native staging buffer (device backends cannot copy from heap memory).
 */
final class HostIo {
  private HostIo() {}

  /** Checks that {@code t} is an F32 or BF16 matrix of {@code rows x cols}. */
  static void requireFloat(Tensor t, String name, int rows, int cols) {
    if (t == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
      throw new IllegalArgumentException(name + " must be F32 or BF16, got " + t.dtype());
    }
    if (t.rows() != rows || t.cols() != cols) {
      throw new IllegalArgumentException(
          name
              + " must be ["
              + rows
              + " x "
              + cols
              + "], got ["
              + t.rows()
              + " x "
              + t.cols()
              + "]");
    }
  }

  /** The values of an F32 or BF16 tensor, row-major. */
  static float[] readFloats(ParticleOps ops, Tensor t) {
    int n = Math.toIntExact(t.elements());
    float[] out = new float[n];
    if (t instanceof CpuTensor c) {
      copyOut(c.segment(), t.dtype(), out);
    } else {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
        ops.download(t, s);
        copyOut(s, t.dtype(), out);
      }
    }
    return out;
  }

  /** Writes {@code values} (row-major) into an F32 or BF16 tensor. */
  static void writeFloats(ParticleOps ops, float[] values, Tensor t) {
    if (t instanceof CpuTensor c) {
      copyIn(values, t.dtype(), c.segment());
    } else {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
        copyIn(values, t.dtype(), s);
        ops.upload(s, t);
      }
    }
  }

  /** The values of an F64 tensor. */
  static double[] readDoubles(ParticleOps ops, Tensor t) {
    double[] out = new double[Math.toIntExact(t.elements())];
    if (t instanceof CpuTensor c) {
      MemorySegment.copy(c.segment(), JAVA_DOUBLE, 0, out, 0, out.length);
    } else {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
        ops.download(t, s);
        MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, out.length);
      }
    }
    return out;
  }

  /** Writes {@code values} into an F64 tensor. */
  static void writeDoubles(ParticleOps ops, double[] values, Tensor t) {
    if (t instanceof CpuTensor c) {
      MemorySegment.copy(values, 0, c.segment(), JAVA_DOUBLE, 0, values.length);
    } else {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
        MemorySegment.copy(values, 0, s, JAVA_DOUBLE, 0, values.length);
        ops.upload(s, t);
      }
    }
  }

  private static void copyOut(MemorySegment s, DType dtype, float[] out) {
    if (dtype == DType.F32) {
      MemorySegment.copy(s, JAVA_FLOAT, 0, out, 0, out.length);
    } else {
      for (int i = 0; i < out.length; i++) {
        out[i] = DType.fromBf16(s.getAtIndex(JAVA_SHORT, i));
      }
    }
  }

  private static void copyIn(float[] values, DType dtype, MemorySegment s) {
    if (dtype == DType.F32) {
      MemorySegment.copy(values, 0, s, JAVA_FLOAT, 0, values.length);
    } else {
      for (int i = 0; i < values.length; i++) {
        s.setAtIndex(JAVA_SHORT, i, DType.toBf16(values[i]));
      }
    }
  }
}
