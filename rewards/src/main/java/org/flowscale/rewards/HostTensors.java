package org.flowscale.rewards;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Moves tensors of any backend to and from Java arrays for rewards computed on the host or sent
 * over the network. Copies through {@link ParticleOps#download}/{@link ParticleOps#upload} with a
 * native staging buffer, which works for every backend (device backends cannot copy to the heap).
 */
public final class HostTensors {
  private HostTensors() {}

  /** The values of an F32 or BF16 tensor, row-major. */
  public static float[] readFloats(ParticleOps ops, Tensor t) {
    if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
      throw new IllegalArgumentException("expected an F32 or BF16 tensor, got " + t.dtype());
    }
    float[] out = new float[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      if (t.dtype() == DType.F32) {
        MemorySegment.copy(s, JAVA_FLOAT, 0, out, 0, out.length);
      } else {
        for (int i = 0; i < out.length; i++) {
          out[i] = DType.fromBf16(s.getAtIndex(JAVA_SHORT, i));
        }
      }
    }
    return out;
  }

  /** Writes {@code values} (row-major) into an F32 or BF16 tensor. */
  public static void writeFloats(ParticleOps ops, float[] values, Tensor t) {
    if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
      throw new IllegalArgumentException("expected an F32 or BF16 tensor, got " + t.dtype());
    }
    checkLength(values.length, t);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      if (t.dtype() == DType.F32) {
        MemorySegment.copy(values, 0, s, JAVA_FLOAT, 0, values.length);
      } else {
        for (int i = 0; i < values.length; i++) {
          s.setAtIndex(JAVA_SHORT, i, DType.toBf16(values[i]));
        }
      }
      ops.upload(s, t);
    }
  }

  /** The values of an F64 tensor. */
  public static double[] readDoubles(ParticleOps ops, Tensor t) {
    if (t.dtype() != DType.F64) {
      throw new IllegalArgumentException("expected an F64 tensor, got " + t.dtype());
    }
    double[] out = new double[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, out.length);
    }
    return out;
  }

  /** Writes {@code values} into an F64 tensor. */
  public static void writeDoubles(ParticleOps ops, double[] values, Tensor t) {
    if (t.dtype() != DType.F64) {
      throw new IllegalArgumentException("expected an F64 tensor, got " + t.dtype());
    }
    checkLength(values.length, t);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      MemorySegment.copy(values, 0, s, JAVA_DOUBLE, 0, values.length);
      ops.upload(s, t);
    }
  }

  private static void checkLength(int n, Tensor t) {
    if (n != t.elements()) {
      throw new IllegalArgumentException(
          n + " values do not fill a [" + t.rows() + " x " + t.cols() + "] tensor");
    }
  }
}
