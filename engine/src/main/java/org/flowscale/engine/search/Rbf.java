package org.flowscale.engine.search;

/** RBF: rollover budget forcing, the paper's method; see {@link RolloverBudget}. */
public final class Rbf extends RolloverBudget {
  public Rbf() {
    super(FilteringMethod.RBF, false);
  }
}
