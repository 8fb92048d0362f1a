package org.flowscale.api;

/**
 * A native library or the device failed: libtorch, the CUDA driver, a kernel. The JVM keeps
 * running; the message carries the native library's own message.
 */
public final class NativeException extends FlowscaleException {
  private final String component;
  private final boolean pipelineUsable;

  public NativeException(
      String component,
      String message,
      boolean pipelineUsable,
      Throwable cause,
      GenerationResult partial) {
    super(message, cause, partial);
    this.component = component;
    this.pipelineUsable = pipelineUsable;
  }

  /** What failed: {@code model}, {@code reward} or {@code backend}. */
  public String component() {
    return component;
  }

  /**
   * Whether the pipeline can serve more requests. False after a device fault that may have lost the
   * device context (close the pipeline and build a new one).
   */
  public boolean pipelineUsable() {
    return pipelineUsable;
  }
}
