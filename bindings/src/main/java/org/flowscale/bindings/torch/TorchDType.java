package org.flowscale.bindings.torch;

import org.flowscale.engine.ops.DType;

/** Element types the shim understands; {@link #code} is the {@code fs_dtype} value of the ABI. */
public enum TorchDType {
  F32(0, 4, DType.F32),
  F64(1, 8, DType.F64),
  BF16(2, 2, DType.BF16),
  F16(3, 2, null),
  I32(4, 4, DType.I32),
  I64(5, 8, null);

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

  /** The engine's dtype, or null when the engine has none (F16, I64). */
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
