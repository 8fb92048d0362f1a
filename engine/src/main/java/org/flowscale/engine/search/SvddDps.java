package org.flowscale.engine.search;

/**
 * SVDD+DPS: SVDD whose proposals are nudged along the reward gradient before they are scored. The
 * gradient is taken at the chain's state (through the velocity already computed there) and shared
 * by the chain's {@code K} proposals: {@code B} gradient passes per step.
 */
public final class SvddDps extends BlockSelection {
  public SvddDps() {
    super(FilteringMethod.SVDD_DPS, true);
  }

  @Override
  int blockSize(SearchConfig config) {
    return 1;
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.particleSchedule(config);
    Rules.noBlocks(config);
    Rules.dpsStep(config);
    Rules.fixedBudget(config);
  }
}
