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

  /** Runs the search; the same config and seed give the same result bit for bit. */
  SearchResult run(
      SearchConfig config,
      ParticleOps ops,
      VelocityModel model,
      Reward reward,
      SearchListener listener);
}
