package org.flowscale.engine.search;

/**
 * DPS: {@code B} independent trajectories, each step nudged along the reward gradient through the
 * Tweedie estimate; the best final reward wins. Needs a differentiable reward and a model VJP.
 */
public final class Dps extends Trajectories {
  public Dps() {
    super(FilteringMethod.DPS, true);
  }
}
