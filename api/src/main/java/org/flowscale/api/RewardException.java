package org.flowscale.api;

/** The reward failed: while loading or connecting, or while scoring during a run. */
public final class RewardException extends FlowscaleException {
  /** The reward's config name. */
  private final String reward;

  /** Whether trying again later may help. */
  private final boolean retryable;

  /**
   * A reward failure.
   *
   * @param reward the reward's config name
   * @param message what failed, on one line
   * @param retryable whether the same request may succeed later
   * @param cause the reward's own exception (may be null)
   * @param partial the run's best so far, or null when nothing ran
   */
  public RewardException(
      String reward, String message, boolean retryable, Throwable cause, GenerationResult partial) {
    super(message, cause, partial);
    this.reward = reward;
    this.retryable = retryable;
  }

  /** {@return the reward's config name ({@code counting}, {@code remote}, ...)} */
  public String reward() {
    return reward;
  }

  /**
   * {@return whether the same request may succeed later} True for a remote reward server that timed
   * out or was not ready; false when the reward refused or returned something wrong.
   */
  public boolean retryable() {
    return retryable;
  }
}
