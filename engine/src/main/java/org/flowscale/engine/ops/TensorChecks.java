package org.flowscale.engine.ops;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

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

  /**
   * One column of dtype {@code d} and exactly {@code rows} rows: a per-particle scalar of a batch.
   */
  public static void column(Tensor t, DType d, int rows, String name) {
    if (t == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (t.dtype() != d || t.rows() != rows || t.cols() != 1) {
      throw new IllegalArgumentException(
          name
              + " must be "
              + d
              + " ["
              + rows
              + " x 1], got "
              + t.dtype()
              + " ["
              + t.rows()
              + " x "
              + t.cols()
              + "]");
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

  /** The fused step's F64 coefficients: one row of (x, u, z) per particle. */
  public static void coefficients(Tensor coef, int rows) {
    dtype(coef, DType.F64, "coef");
    if (coef.rows() != rows || coef.cols() != 3) {
      throw new IllegalArgumentException(
          "coef must be [" + rows + " x 3], got [" + coef.rows() + " x " + coef.cols() + "]");
    }
  }

  /** Noise ids: one per row of the output. */
  public static void noiseIds(Tensor ids, int rows) {
    if (ids.rows() != rows) {
      throw new IllegalArgumentException(
          "noise.ids must have " + rows + " rows, got " + ids.rows());
    }
  }

  /** {@code dst[i] = src[index[i]]}: an I32 index column per dst row, src's dtype and width. */
  public static void gather(Tensor src, Tensor index, Tensor dst) {
    dtype(index, DType.I32, "index");
    dtype(dst, src.dtype(), "dst");
    if (index.cols() != 1 || index.rows() != dst.rows()) {
      throw new IllegalArgumentException(
          "index must be ["
              + dst.rows()
              + " x 1], got ["
              + index.rows()
              + " x "
              + index.cols()
              + "]");
    }
    if (dst.cols() != src.cols()) {
      throw new IllegalArgumentException(
          "dst must have " + src.cols() + " columns like src, got " + dst.cols());
    }
  }

  /** The number of groups of a per-group argmax, checked against the output's rows. */
  public static int groups(Tensor values, int groupSize, Tensor outIndex) {
    if (groupSize <= 0 || values.rows() % groupSize != 0) {
      throw new IllegalArgumentException(
          "groupSize must be > 0 and divide values' " + values.rows() + " rows, got " + groupSize);
    }
    int groups = values.rows() / groupSize;
    if (outIndex.rows() != groups) {
      throw new IllegalArgumentException(
          "outIndex must have " + groups + " rows (one per group), got " + outIndex.rows());
    }
    return groups;
  }

  /** A tensor {@link ParticleOps#firstNonFiniteRow} can check: F32, BF16 or F64. */
  public static void finiteCheckable(Tensor t) {
    if (t == null) {
      throw new IllegalArgumentException("tensor must not be null");
    }
    if (t.dtype() != DType.F32 && t.dtype() != DType.BF16 && t.dtype() != DType.F64) {
      throw new IllegalArgumentException("tensor must be F32, BF16 or F64, got " + t.dtype());
    }
  }

  /**
   * The first row of a row-major host copy holding NaN or an infinity, or -1: the definition every
   * backend's {@link ParticleOps#firstNonFiniteRow} must match.
   */
  public static int firstNonFiniteRow(MemorySegment s, DType dtype, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
      long base = (long) i * cols;
      for (int j = 0; j < cols; j++) {
        boolean finite =
            switch (dtype) {
              case F32 -> Float.isFinite(s.getAtIndex(JAVA_FLOAT, base + j));
              case BF16 -> Float.isFinite(DType.fromBf16(s.getAtIndex(JAVA_SHORT, base + j)));
              case F64 -> Double.isFinite(s.getAtIndex(JAVA_DOUBLE, base + j));
              default -> throw new IllegalArgumentException("not a floating dtype: " + dtype);
            };
        if (!finite) {
          return i;
        }
      }
    }
    return -1;
  }
}
