package org.flowscale.engine.ops;

import java.lang.foreign.MemorySegment;

/**
 * The argument checks every {@link ParticleOps} backend makes, in one place so all backends refuse
 * the same inputs with the same messages; each message names the argument.
 */
public final class TensorChecks {
  private TensorChecks() {}

  /** F32 or BF16: a particle state. */
  public static void floating(Tensor t, String name) {
    if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
      throw new IllegalArgumentException(name + " must be F32 or BF16, got " + t.dtype());
    }
  }

  /** Exactly dtype {@code d}. */
  public static void dtype(Tensor t, DType d, String name) {
    if (t.dtype() != d) {
      throw new IllegalArgumentException(name + " must be " + d + ", got " + t.dtype());
    }
  }

  /** One column of dtype {@code d}: a per-particle scalar. */
  public static void column(Tensor t, DType d, String name) {
    dtype(t, d, name);
    if (t.cols() != 1) {
      throw new IllegalArgumentException(name + " must have one column, got " + t.cols());
    }
  }

  /** {@code b} has {@code a}'s rows and columns. */
  public static void sameShape(Tensor a, Tensor b, String an, String bn) {
    if (a.rows() != b.rows() || a.cols() != b.cols()) {
      throw new IllegalArgumentException(
          bn
              + " must have "
              + an
              + "'s shape ["
              + a.rows()
              + " x "
              + a.cols()
              + "], got ["
              + b.rows()
              + " x "
              + b.cols()
              + "]");
    }
  }

  /** Host memory of at least {@code bytes}. */
  public static void hostBytes(MemorySegment s, long bytes, String name) {
    if (s == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (s.byteSize() < bytes) {
      throw new IllegalArgumentException(
          name + " holds " + s.byteSize() + " bytes, needs " + bytes);
    }
  }
}
