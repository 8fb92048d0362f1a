package org.flowscale.bindings.torch;

import org.flowscale.bindings.weights.SafeDType;
import org.flowscale.engine.ops.DType;

/** Element types the shim understands; {@link #code} is the {@code fs_dtype} value of the ABI. */
public enum TorchDType {
  F32(0, 4, DType.F32),
  F64(1, 8, DType.F64),
  BF16(2, 2, DType.BF16),
  F16(3, 2, null),
  I32(4, 4, DType.I32),
  I64(5, 8, null),
  /** FP8 e4m3 (libtorch >= 2.1; see {@link TorchShim#dtypeSupported}). */
  F8_E4M3(6, 1, null),
  /** FP8 e5m2 (libtorch >= 2.1). */
  F8_E5M2(7, 1, null),
  U8(8, 1, null),
  I8(9, 1, null),
  I16(10, 2, null),
  BOOL(11, 1, null);

  private final int code;
  private final int bytes;
  private final DType engine;

  TorchDType(int code, int bytes, DType engine) {
    this.code = code;
    this.bytes = bytes;
    this.engine = engine;
  }

  /** The ABI's {@code fs_dtype} value. */
  public int code() {
    return code;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** Whether it is a floating-point type. */
  public boolean floating() {
    return this == F32
        || this == F64
        || this == BF16
        || this == F16
        || this == F8_E4M3
        || this == F8_E5M2;
  }

  /** The engine's dtype, or null when the engine has none (F16, I64, ...). */
  public DType engine() {
    return engine;
  }

  /** The shim dtype of an engine dtype. */
  public static TorchDType of(DType d) {
    return switch (d) {
      case F32 -> F32;
      case F64 -> F64;
      case BF16 -> BF16;
      case I32 -> I32;
    };
  }

  /**
   * The shim dtype of a safetensors dtype, or null when libtorch has no such type (the unsigned
   * 16/32/64-bit integers).
   */
  public static TorchDType of(SafeDType d) {
    return switch (d) {
      case BOOL -> BOOL;
      case U8 -> U8;
      case I8 -> I8;
      case I16 -> I16;
      case F16 -> F16;
      case BF16 -> BF16;
      case I32 -> I32;
      case F32 -> F32;
      case F64 -> F64;
      case I64 -> I64;
      case F8_E4M3 -> F8_E4M3;
      case F8_E5M2 -> F8_E5M2;
      case U16, U32, U64 -> null;
    };
  }

  /** The dtype with that ABI code. */
  public static TorchDType ofCode(int code) {
    for (TorchDType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    throw new TorchException("the shim reported an unknown dtype code " + code);
  }
}
