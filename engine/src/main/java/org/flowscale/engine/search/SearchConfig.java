package org.flowscale.engine.search;

import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.ops.Resampling;

/**
 * A validated, typed search configuration (the reference implementation's keys in brackets). Values
 * are checked here for range; the method-specific budget rules are checked by the method ({@link
 * SearchMethod#validate}).
 *
 * @param method {@code filtering_method}
 * @param batchSize {@code batch_size}, B: independent chains
 * @param nParticles {@code n_particles}, K: particles per chain
 * @param blockSize {@code block_size}, Lb: steps between CoDe selections
 * @param initNParticles {@code init_n_particles}, K0: RBF's initial particles per chain
 * @param maxNfe {@code max_nfe}, N: the NFE budget, never exceeded
 * @param maxSteps {@code max_steps}, S
 * @param timeSchedule {@code time_schedule}
 * @param fluxShiftTokens image tokens for FLUX.1-dev's time shift, or 0 for none
 * @param scheme {@code sample_method}, {@code convert_scheduler}, {@code diffusion_coefficient},
 *     {@code diffusion_norm}
 * @param rewardWeight {@code reward_weight}, lambda (SMC's temperature)
 * @param essThreshold {@code ess_threshold}: SMC resamples when ESS < threshold * B
 * @param resampling SMC's resampling scheme
 * @param dpsStepSize eta: the DPS nudge size
 * @param seed {@code seed}
 */
public record SearchConfig(
    FilteringMethod method,
    int batchSize,
    int nParticles,
    int blockSize,
    int initNParticles,
    long maxNfe,
    int maxSteps,
    TimeSchedule timeSchedule,
    int fluxShiftTokens,
    SamplingScheme scheme,
    double rewardWeight,
    double essThreshold,
    Resampling resampling,
    double dpsStepSize,
    long seed) {

  public SearchConfig {
    if (method == null) {
      throw new IllegalArgumentException("filtering_method must be set");
    }
    if (timeSchedule == null || scheme == null || resampling == null) {
      throw new IllegalArgumentException(
          "time_schedule, the sampling scheme and resampling must be set");
    }
    positive("batch_size", batchSize);
    positive("n_particles", nParticles);
    positive("block_size", blockSize);
    positive("init_n_particles", initNParticles);
    positive("max_steps", maxSteps);
    if (maxNfe <= 0) {
      throw new IllegalArgumentException("max_nfe must be > 0, got " + maxNfe);
    }
    if (fluxShiftTokens < 0) {
      throw new IllegalArgumentException("flux shift tokens must be >= 0, got " + fluxShiftTokens);
    }
    if (!(rewardWeight > 0) || !Double.isFinite(rewardWeight)) {
      throw new IllegalArgumentException(
          "reward_weight must be finite and > 0, got " + rewardWeight);
    }
    if (!(essThreshold >= 0 && essThreshold <= 1)) {
      throw new IllegalArgumentException("ess_threshold must be in [0, 1], got " + essThreshold);
    }
    if (!(dpsStepSize >= 0) || !Double.isFinite(dpsStepSize)) {
      throw new IllegalArgumentException(
          "dps step size must be finite and >= 0, got " + dpsStepSize);
    }
  }

  private static void positive(String key, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(key + " must be > 0, got " + v);
    }
  }

  /** The sampling times, {@code maxSteps + 1} of them from 1 to 0. */
  public double[] timeGrid() {
    double[] grid = timeSchedule.grid(maxSteps);
    return fluxShiftTokens > 0 ? TimeSchedule.fluxShift(grid, fluxShiftTokens) : grid;
  }

  /** A copy with another method. */
  public SearchConfig withMethod(FilteringMethod m) {
    return new SearchConfig(
        m,
        batchSize,
        nParticles,
        blockSize,
        initNParticles,
        maxNfe,
        maxSteps,
        timeSchedule,
        fluxShiftTokens,
        scheme,
        rewardWeight,
        essThreshold,
        resampling,
        dpsStepSize,
        seed);
  }

  /** A copy with another number of image tokens for the FLUX time shift (0: none). */
  public SearchConfig withFluxShiftTokens(int tokens) {
    return new SearchConfig(
        method,
        batchSize,
        nParticles,
        blockSize,
        initNParticles,
        maxNfe,
        maxSteps,
        timeSchedule,
        tokens,
        scheme,
        rewardWeight,
        essThreshold,
        resampling,
        dpsStepSize,
        seed);
  }

  /** A copy with another seed. */
  public SearchConfig withSeed(long s) {
    return new SearchConfig(
        method,
        batchSize,
        nParticles,
        blockSize,
        initNParticles,
        maxNfe,
        maxSteps,
        timeSchedule,
        fluxShiftTokens,
        scheme,
        rewardWeight,
        essThreshold,
        resampling,
        dpsStepSize,
        s);
  }
}
