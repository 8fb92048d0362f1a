package org.flowscale.api;

/**
 * A native library or the device failed: libtorch, the CUDA driver, a kernel. The JVM keeps
 * running; the message carries the native library's own message.
 */
public final class NativeException extends FlowscaleException {
  /** What failed. */
  private final String component;

  /** Whether the pipeline can serve more requests. */
  private final boolean pipelineUsable;

  /**
   * A native failure.
   *
   * @param component what failed: {@code model}, {@code reward} or {@code backend}
   * @param message what failed, with the native library's own message, on one line
   * @param pipelineUsable whether the pipeline can serve more requests
   * @param cause the native layer's exception (may be null)
   * @param partial the run's best so far, or null when nothing ran
   */
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

  /** {@return what failed: {@code model}, {@code reward} or {@code backend}} */
  public String component() {
    return component;
  }

  /**
   * {@return whether the pipeline can serve more requests} False after a device fault that may have
   * lost the device context (close the pipeline and build a new one).
   */
  public boolean pipelineUsable() {
    return pipelineUsable;
  }
}
