package org.flowscale.engine.search;

/** RBF+DPS: RBF whose proposals are nudged along the reward gradient before they are scored. */
public final class RbfDps extends RolloverBudget {
  public RbfDps() {
    super(FilteringMethod.RBF_DPS, true);
  }
}
