package org.flowscale.engine.search;

/** SVDD: CoDe with selection after every step ({@code block_size} 1). */
public final class Svdd extends BlockSelection {
  public Svdd() {
    super(FilteringMethod.SVDD, false);
  }

  @Override
  int blockSize(SearchConfig config) {
    return 1;
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.noBlocks(config);
    Rules.fixedBudget(config);
  }
}
