package org.flowscale.engine.model;

/**
 * A reward's weights (or its connection to a server), loaded once and conditioned per request: the
 * reward-side twin of {@link FlowModel}. {@link RewardFactory#load} makes one; {@link #condition}
 * binds a prompt and returns the {@link Reward} a search scores with. Closing this frees what was
 * loaded and makes every reward it returned unusable; closing such a reward frees only its own
 * per-request state. {@link #condition} may be called from several threads at once.
 */
public interface RewardModel extends AutoCloseable {

  /** The config name ({@code counting}, {@code torchscript}, ...). */
  String name();

  /** Whether the rewards it makes have a gradient (needed by the DPS methods). */
  boolean differentiable();

  /**
   * The reward for {@code prompt} (null for rewards that ignore prompts).
   *
   * @throws IllegalArgumentException when this reward cannot judge that prompt (the message says
   *     why, e.g. a counting reward given a prompt without counts)
   */
  Reward condition(String prompt);

  @Override
  void close();

  /**
   * A reward that does not depend on the prompt: {@link #condition} returns a view of {@code
   * reward} whose {@code close} does nothing, and closing the reward model closes {@code reward}.
   */
  static RewardModel promptFree(Reward reward) {
    return Owned.promptFree(reward);
  }
}
