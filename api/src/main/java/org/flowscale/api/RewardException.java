package org.flowscale.api;

/** The reward failed: while loading or connecting, or while scoring during a run. */
public final class RewardException extends FlowscaleException {
  private final String reward;
  private final boolean retryable;

  public RewardException(
      String reward, String message, boolean retryable, Throwable cause, GenerationResult partial) {
    super(message, cause, partial);
    this.reward = reward;
    this.retryable = retryable;
  }

  /** The reward's config name ({@code counting}, {@code remote}, ...). */
  public String reward() {
    return reward;
  }

  /**
   * Whether the same request may succeed later (a remote reward server that timed out or was not
   * ready); false when the reward refused or returned something wrong.
   */
  public boolean retryable() {
    return retryable;
  }
}
