package org.flowscale.engine.search;

import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;

/**
 * One search algorithm of MATH.md section 6, written over {@link ParticleOps}, a {@link
 * VelocityModel} and a batched {@link Reward}. Implementations are stateless; a run's state lives
 * in the run.
 */
public interface SearchMethod {
  FilteringMethod id();

  /**
   * Refuses a config that breaks this method's rules (budget, block size, ...) with a message that
   * names the numbers that clash and what would fit.
   */
  void validate(SearchConfig config);

  /**
   * Refuses a model and reward this method cannot work with: the DPS methods need a differentiable
   * reward and a model with a vector-Jacobian product. {@link #run} calls it first; callers may
   * call it earlier to fail before loading anything else.
   */
  default void checkInputs(SearchConfig config, VelocityModel model, Reward reward) {
    if (model.nfePerEvaluation() != config.nfePerEvaluation()) {
      throw new IllegalArgumentException(
          "the model costs "
              + model.nfePerEvaluation()
              + " NFE per evaluation (2 under classifier-free guidance), but the search config"
              + " plans with "
              + config.nfePerEvaluation()
              + "; set SearchConfig.nfePerEvaluation to match");
    }
    if (!id().usesGradient()) {
      return;
    }
    checkReward(reward.name(), reward.differentiable());
    if (!model.hasVjp()) {
      throw new IllegalArgumentException(
          id().configName()
              + " needs a model with a vector-Jacobian product (velocityVjp), and "
              + model.getClass().getSimpleName()
              + " has none");
    }
  }

  /**
   * Refuses a reward this method cannot use: a gradient-guided method needs a differentiable one.
   * {@link #checkInputs} calls it; a dry run that checks the reward without loading the model calls
   * it alone.
   *
   * @param rewardName the reward's name, for the message
   * @param differentiable whether the reward has a gradient
   * @throws IllegalArgumentException naming the method, the reward and what to use instead
   */
  default void checkReward(String rewardName, boolean differentiable) {
    if (id().usesGradient() && !differentiable) {
      throw new IllegalArgumentException(
          id().configName()
              + " needs a differentiable reward, and '"
              + rewardName
              + "' is not; use "
              + id().configName().replace("_dps", "").replace("dps", "bon")
              + " or a differentiable reward");
    }
  }

  /** Runs the search; the same config and seed give the same result bit for bit. */
  SearchResult run(
      SearchConfig config,
      ParticleOps ops,
      VelocityModel model,
      Reward reward,
      SearchListener listener);
}
