package org.flowscale.api;

import java.util.Optional;

/**
 * The base of every error flowscale's library reports. Its subtypes say whose fault it was, which
 * decides what a caller does next:
 *
 * <ul>
 *   <li>{@link ConfigurationException}: the request or config is wrong; nothing ran. Fix the input;
 *       retrying the same input fails the same way.
 *   <li>{@link ModelException}: the velocity model failed to load or during a run.
 *   <li>{@link RewardException}: the reward failed (a remote server may be down: {@link
 *       RewardException#retryable()} says whether trying again later may help).
 *   <li>{@link NativeException}: a native library or the device failed (libtorch, the CUDA driver);
 *       {@link NativeException#pipelineUsable()} says whether the pipeline can serve more requests
 *       or must be rebuilt.
 * </ul>
 *
 * A failure during a run carries what the run had found by then ({@link #partial()}), so a caller
 * can keep the best sample so far.
 */
public class FlowscaleException extends RuntimeException {
  private final transient GenerationResult partial;

  /**
   * A library error.
   *
   * @param message what failed, on one line
   * @param cause the underlying failure (may be null)
   * @param partial the run's best so far, or null when nothing ran
   */
  public FlowscaleException(String message, Throwable cause, GenerationResult partial) {
    super(message, cause);
    this.partial = partial;
  }

  /**
   * {@return what the run had when it failed (status {@link RunStatus#FAILED}), if it had started}
   */
  public Optional<GenerationResult> partial() {
    return Optional.ofNullable(partial);
  }
}
