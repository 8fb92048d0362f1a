package org.flowscale.engine.testing;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Moves Java arrays in and out of backend tensors through {@link ParticleOps#upload} and {@link
 * ParticleOps#download} only, so tests written with it run unchanged against any backend.
 */
public final class HostTensors {
  private HostTensors() {}

  /** A new F32 (or BF16, rounded) tensor holding {@code values} row-major. */
  public static Tensor floats(ParticleOps ops, int rows, int cols, DType dtype, float... values) {
    check(rows, cols, values.length);
    Tensor t = ops.allocate(rows, cols, dtype);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      for (int i = 0; i < values.length; i++) {
        switch (dtype) {
          case F32 -> s.setAtIndex(JAVA_FLOAT, i, values[i]);
          case BF16 -> s.setAtIndex(JAVA_SHORT, i, DType.toBf16(values[i]));
          default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
      }
      ops.upload(s, t);
    }
    return t;
  }

  /** A new F32 tensor. */
  public static Tensor floats(ParticleOps ops, int rows, int cols, float... values) {
    return floats(ops, rows, cols, DType.F32, values);
  }

  /** A new F64 tensor. */
  public static Tensor doubles(ParticleOps ops, int rows, int cols, double... values) {
    check(rows, cols, values.length);
    Tensor t = ops.allocate(rows, cols, DType.F64);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      MemorySegment.copy(values, 0, s, JAVA_DOUBLE, 0, values.length);
      ops.upload(s, t);
    }
    return t;
  }

  /** A new I32 column. */
  public static Tensor ints(ParticleOps ops, int... values) {
    Tensor t = ops.allocate(values.length, 1, DType.I32);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      MemorySegment.copy(values, 0, s, JAVA_INT, 0, values.length);
      ops.upload(s, t);
    }
    return t;
  }

  /** The values of an F32 or BF16 tensor, widened to float. */
  public static float[] floats(ParticleOps ops, Tensor t) {
    float[] out = new float[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      for (int i = 0; i < out.length; i++) {
        out[i] =
            switch (t.dtype()) {
              case F32 -> s.getAtIndex(JAVA_FLOAT, i);
              case BF16 -> DType.fromBf16(s.getAtIndex(JAVA_SHORT, i));
              default -> throw new IllegalArgumentException("not a float dtype: " + t.dtype());
            };
      }
    }
    return out;
  }

  /** The values of an F64 tensor. */
  public static double[] doubles(ParticleOps ops, Tensor t) {
    double[] out = new double[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, out.length);
    }
    return out;
  }

  /** The values of an I32 tensor. */
  public static int[] ints(ParticleOps ops, Tensor t) {
    int[] out = new int[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      MemorySegment.copy(s, JAVA_INT, 0, out, 0, out.length);
    }
    return out;
  }

  /** An F64 {@code rows x 3} coefficient tensor with the same (a, b, c) on every row. */
  public static Tensor coefs(ParticleOps ops, int rows, double a, double b, double c) {
    double[] v = new double[rows * 3];
    for (int i = 0; i < rows; i++) {
      v[3 * i] = a;
      v[3 * i + 1] = b;
      v[3 * i + 2] = c;
    }
    return doubles(ops, rows, 3, v);
  }

  /** An F64 column with {@code value} on every row. */
  public static Tensor column(ParticleOps ops, int rows, double value) {
    double[] v = new double[rows];
    java.util.Arrays.fill(v, value);
    return doubles(ops, rows, 1, v);
  }

  private static void check(int rows, int cols, int length) {
    if ((long) rows * cols != length) {
      throw new IllegalArgumentException(
          "[" + rows + " x " + cols + "] needs " + (long) rows * cols + " values, got " + length);
    }
  }
}
