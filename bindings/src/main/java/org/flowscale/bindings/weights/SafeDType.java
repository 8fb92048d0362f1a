package org.flowscale.bindings.weights;

/**
 * The element types a safetensors header may name ({@code "dtype"}), with their sizes. The names
 * are the format's own ({@code BF16}, {@code F8_E4M3}, ...); whether libtorch can hold one is for
 * the loader to say, not the reader.
 */
public enum SafeDType {
  BOOL(1, false),
  U8(1, false),
  I8(1, false),
  I16(2, false),
  U16(2, false),
  F16(2, true),
  BF16(2, true),
  I32(4, false),
  U32(4, false),
  F32(4, true),
  F64(8, true),
  I64(8, false),
  U64(8, false),
  /** FP8 with 4 exponent and 3 mantissa bits (PyTorch's {@code float8_e4m3fn}). */
  F8_E4M3(1, true),
  /** FP8 with 5 exponent and 2 mantissa bits (PyTorch's {@code float8_e5m2}). */
  F8_E5M2(1, true);

  private final int bytes;
  private final boolean floating;

  SafeDType(int bytes, boolean floating) {
    this.bytes = bytes;
    this.floating = floating;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** Whether it is a floating-point type (and may be converted to another on load). */
  public boolean floating() {
    return floating;
  }

  /** Whether it is one of the 8-bit float types (which older libtorch builds lack). */
  public boolean fp8() {
    return this == F8_E4M3 || this == F8_E5M2;
  }

  /** The type a header names, or null when the name is not a safetensors dtype. */
  public static SafeDType byName(String name) {
    for (SafeDType d : values()) {
      if (d.name().equals(name)) {
        return d;
      }
    }
    return null;
  }
}
