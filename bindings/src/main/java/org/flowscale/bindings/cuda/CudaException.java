package org.flowscale.bindings.cuda;

/**
 * A CUDA driver call returned an error. Carries the function that failed, the {@code CUresult}
 * code, and the driver's own name and description of it (e.g. {@code CUDA_ERROR_OUT_OF_MEMORY},
 * "out of memory").
 */
public class CudaException extends RuntimeException
    implements org.flowscale.engine.ops.NativeFailure {
  private final String function;
  private final int code;
  private final String errorName;
  private final String errorText;
  private final String detail;

  public CudaException(String function, int code, String errorName, String errorText) {
    this(function, code, errorName, errorText, null);
  }

  /**
   * With {@code detail}: what the driver said beyond the error code (e.g. a JIT error log), or
   * null.
   */
  public CudaException(
      String function, int code, String errorName, String errorText, String detail) {
    super(
        function
            + " failed: "
            + errorName
            + " ("
            + code
            + "): "
            + errorText
            + (detail == null ? "" : "; " + detail));
    this.function = function;
    this.code = code;
    this.errorName = errorName;
    this.errorText = errorText;
    this.detail = detail;
  }

  /** The driver API function that failed, as exported (e.g. {@code cuMemAlloc_v2}). */
  public String function() {
    return function;
  }

  /** The {@code CUresult} value. */
  public int code() {
    return code;
  }

  /** The driver's name of the error, e.g. {@code CUDA_ERROR_INVALID_VALUE}. */
  public String errorName() {
    return errorName;
  }

  /** The driver's description of the error. */
  public String errorText() {
    return errorText;
  }

  /** What the driver said beyond the code (e.g. the JIT error log), or null. */
  public String detail() {
    return detail;
  }

  /**
   * Sticky errors leave the context unusable: an illegal address (700), a misaligned address (716),
   * an illegal or invalid instruction (715, 718), a hardware stack error (714), a launch failure
   * (719) or an uncorrectable ECC error (214). Every later call in that context fails.
   */
  @Override
  public boolean contextLost() {
    return switch (code) {
      case 214, 700, 714, 715, 716, 718, 719 -> true;
      default -> false;
    };
  }
}
