package org.flowscale.engine.search;

/** CoDe: selection of each chain's best of {@code K} particles every {@code block_size} steps. */
public final class Code extends BlockSelection {
  public Code() {
    super(FilteringMethod.CODE, false);
  }

  @Override
  int blockSize(SearchConfig config) {
    return config.blockSize();
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.particleSchedule(config);
    Rules.blockFits(config);
    Rules.fixedBudget(config);
  }
}
