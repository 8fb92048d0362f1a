package org.flowscale.engine.search;

/**
 * SVDD: CoDe with selection after every step ({@code block_size} 1). With {@code particle_schedule
 * linear} (MATH.md section 6b) each chain's particle count shrinks linearly over the steps, adding
 * up to {@code M = floor(N / B)}, so the run spends exactly {@code B M} NFE; {@code n_particles} is
 * then not read.
 */
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
    Rules.particleSchedule(config);
    if (config.particleSchedule() == ParticleSchedule.CONSTANT) {
      Rules.fixedBudget(config);
    }
  }

  @Override
  int[] counts(SearchConfig config) {
    return config.particleSchedule() == ParticleSchedule.LINEAR
        ? Rules.linearCounts(config)
        : super.counts(config);
  }
}
