package org.flowscale.engine.ops;

/** Element types of particle tensors. */
public enum DType {
  /** IEEE float32: particle states, velocities. */
  F32(4),
  /** bfloat16 (the top half of a float32): low-precision particle states. */
  BF16(2),
  /** float64: per-particle scalars (rewards, log-weights) and coefficients. */
  F64(8),
  /** int32: indices and particle ids. */
  I32(4);

  private final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** bfloat16 bits of a float, rounded to nearest even (NaN stays NaN). */
  public static short toBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7FFF + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** The float a bfloat16 holds. */
  public static float fromBf16(short h) {
    return Float.intBitsToFloat((h & 0xFFFF) << 16);
  }
}
