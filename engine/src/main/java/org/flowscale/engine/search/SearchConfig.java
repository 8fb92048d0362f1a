package org.flowscale.engine.search;

import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.ops.Resampling;

/**
 * A validated, typed search configuration (the reference implementation's keys in brackets). Values
 * are checked here for range; the method-specific budget rules are checked by the method ({@link
 * SearchMethod#validate}). Build one with {@link #builder()}, whose defaults are the command line's
 * (the paper's RBF setting, MATH.md section 7).
 *
 * @param method {@code filtering_method}
 * @param batchSize {@code batch_size}, B: independent chains
 * @param nParticles {@code n_particles}, K: particles per chain
 * @param blockSize {@code block_size}, Lb: steps between CoDe selections
 * @param initNParticles {@code init_n_particles}, K0: RBF's initial particles per chain
 * @param maxNfe {@code max_nfe}, N: the NFE budget, never exceeded
 * @param maxSteps {@code max_steps}, S
 * @param timeSchedule {@code time_schedule}
 * @param timeShiftTokens {@code time_shift}: image tokens L of FLUX.1-dev's time shift, or 0 for
 *     none; it shifts only the grid of the step-mode methods ({@link FilteringMethod#shiftsTime})
 * @param scheme {@code sample_method}, {@code convert_scheduler}, {@code diffusion_coefficient},
 *     {@code diffusion_norm}
 * @param rewardWeight {@code reward_weight}, lambda (SMC's temperature)
 * @param essThreshold {@code ess_threshold}: SMC resamples when ESS &lt; threshold * B
 * @param resampling SMC's resampling scheme
 * @param dpsStepSize eta: the DPS nudge size
 * @param seed {@code seed}
 * @param rbfOutput {@code rbf_output}: which proposal RBF returns
 * @param particleSchedule {@code particle_schedule}: SVDD's and SMC's particle counts per step
 * @param sop {@code ode_step}, {@code ode_seed_t}, {@code forward_step}, {@code backward_step}:
 *     Search over Paths' settings
 * @param nfePerEvaluation NFE that one velocity evaluation of one particle costs: 1, or 2 under
 *     classifier-free guidance ({@code cfg_scale}: a conditional and a negative velocity). Every
 *     budget rule counts evaluations at this price: a method plans with {@link #evaluationBudget()}
 *     evaluations and spends at most {@code max_nfe} NFE.
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
    int timeShiftTokens,
    SamplingScheme scheme,
    double rewardWeight,
    double essThreshold,
    Resampling resampling,
    double dpsStepSize,
    long seed,
    RbfOutput rbfOutput,
    ParticleSchedule particleSchedule,
    SopSettings sop,
    int nfePerEvaluation) {

  /** A config whose evaluations cost one NFE each (no classifier-free guidance). */
  public SearchConfig(
      FilteringMethod method,
      int batchSize,
      int nParticles,
      int blockSize,
      int initNParticles,
      long maxNfe,
      int maxSteps,
      TimeSchedule timeSchedule,
      int timeShiftTokens,
      SamplingScheme scheme,
      double rewardWeight,
      double essThreshold,
      Resampling resampling,
      double dpsStepSize,
      long seed,
      RbfOutput rbfOutput,
      ParticleSchedule particleSchedule,
      SopSettings sop) {
    this(
        method,
        batchSize,
        nParticles,
        blockSize,
        initNParticles,
        maxNfe,
        maxSteps,
        timeSchedule,
        timeShiftTokens,
        scheme,
        rewardWeight,
        essThreshold,
        resampling,
        dpsStepSize,
        seed,
        rbfOutput,
        particleSchedule,
        sop,
        1);
  }

  public SearchConfig {
    if (method == null) {
      throw new IllegalArgumentException("filtering_method must be set");
    }
    if (timeSchedule == null || scheme == null || resampling == null) {
      throw new IllegalArgumentException(
          "time_schedule, the sampling scheme and resampling must be set");
    }
    if (rbfOutput == null || particleSchedule == null || sop == null) {
      throw new IllegalArgumentException(
          "rbf_output, particle_schedule and the sop settings must be set");
    }
    positive("batch_size", batchSize);
    positive("n_particles", nParticles);
    positive("block_size", blockSize);
    positive("init_n_particles", initNParticles);
    positive("max_steps", maxSteps);
    if (maxNfe <= 0) {
      throw new IllegalArgumentException("max_nfe must be > 0, got " + maxNfe);
    }
    if (nfePerEvaluation < 1 || nfePerEvaluation > 2) {
      throw new IllegalArgumentException(
          "NFE per evaluation must be 1, or 2 under classifier-free guidance, got "
              + nfePerEvaluation);
    }
    if (timeShiftTokens < 0) {
      throw new IllegalArgumentException(
          "time_shift must be >= 0 image tokens (0: no shift), got " + timeShiftTokens);
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

  /**
   * The sampling times, {@code maxSteps + 1} of them from 1 to 0. FLUX.1-dev's time shift applies
   * only to the step-mode methods, as in the reference implementation, which never shifts RBF's
   * grid.
   */
  public double[] timeGrid() {
    double[] grid = timeSchedule.grid(maxSteps);
    return timeShiftTokens > 0 && method.shiftsTime()
        ? TimeSchedule.fluxShift(grid, timeShiftTokens)
        : grid;
  }

  /**
   * The velocity evaluations (of one particle each) that {@code max_nfe} pays for: {@code floor(N /
   * nfePerEvaluation)}. Methods plan with this; it is {@code max_nfe} without guidance.
   */
  public long evaluationBudget() {
    return maxNfe / nfePerEvaluation;
  }

  /** A builder with this config's values. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** A copy with another method. */
  public SearchConfig withMethod(FilteringMethod m) {
    return toBuilder().method(m).build();
  }

  /** A copy with another number of image tokens for the FLUX time shift (0: none). */
  public SearchConfig withTimeShiftTokens(int tokens) {
    return toBuilder().timeShiftTokens(tokens).build();
  }

  /** A copy with another seed. */
  public SearchConfig withSeed(long s) {
    return toBuilder().seed(s).build();
  }

  /**
   * A builder whose defaults are the command line's: RBF, 2 chains of 25 initial particles, 500
   * NFE, 10 exp steps, VP-SDE with {@code square} diffusion of norm 3, {@code reward_weight} 1,
   * {@code ess_threshold} 0.5, multinomial resampling, DPS step 0.1, seed 0, {@code rbf_output
   * last_step}.
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link SearchConfig}; {@link #build()} runs the record's checks. */
  public static final class Builder {
    private FilteringMethod method = FilteringMethod.RBF;
    private int batchSize = 2;
    private int nParticles = 1;
    private int blockSize = 1;
    private int initNParticles = 25;
    private long maxNfe = 500;
    private int maxSteps = 10;
    private TimeSchedule timeSchedule = TimeSchedule.EXP;
    private int timeShiftTokens;
    private SamplingScheme scheme = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3.0);
    private double rewardWeight = 1.0;
    private double essThreshold = 0.5;
    private Resampling resampling = Resampling.MULTINOMIAL;
    private double dpsStepSize = 0.1;
    private long seed;
    private RbfOutput rbfOutput = RbfOutput.LAST_STEP;
    private ParticleSchedule particleSchedule = ParticleSchedule.CONSTANT;
    private SopSettings sop = SopSettings.DEFAULT;
    private int nfePerEvaluation = 1;

    private Builder() {}

    private Builder(SearchConfig c) {
      method = c.method;
      batchSize = c.batchSize;
      nParticles = c.nParticles;
      blockSize = c.blockSize;
      initNParticles = c.initNParticles;
      maxNfe = c.maxNfe;
      maxSteps = c.maxSteps;
      timeSchedule = c.timeSchedule;
      timeShiftTokens = c.timeShiftTokens;
      scheme = c.scheme;
      rewardWeight = c.rewardWeight;
      essThreshold = c.essThreshold;
      resampling = c.resampling;
      dpsStepSize = c.dpsStepSize;
      seed = c.seed;
      rbfOutput = c.rbfOutput;
      particleSchedule = c.particleSchedule;
      sop = c.sop;
      nfePerEvaluation = c.nfePerEvaluation;
    }

    public Builder method(FilteringMethod v) {
      method = v;
      return this;
    }

    public Builder batchSize(int v) {
      batchSize = v;
      return this;
    }

    public Builder nParticles(int v) {
      nParticles = v;
      return this;
    }

    public Builder blockSize(int v) {
      blockSize = v;
      return this;
    }

    public Builder initNParticles(int v) {
      initNParticles = v;
      return this;
    }

    public Builder maxNfe(long v) {
      maxNfe = v;
      return this;
    }

    public Builder maxSteps(int v) {
      maxSteps = v;
      return this;
    }

    public Builder timeSchedule(TimeSchedule v) {
      timeSchedule = v;
      return this;
    }

    /** FLUX.1-dev's time shift for {@code v} image tokens; 0 for none. */
    public Builder timeShiftTokens(int v) {
      timeShiftTokens = v;
      return this;
    }

    public Builder scheme(SamplingScheme v) {
      scheme = v;
      return this;
    }

    public Builder rewardWeight(double v) {
      rewardWeight = v;
      return this;
    }

    public Builder essThreshold(double v) {
      essThreshold = v;
      return this;
    }

    public Builder resampling(Resampling v) {
      resampling = v;
      return this;
    }

    public Builder dpsStepSize(double v) {
      dpsStepSize = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    public Builder rbfOutput(RbfOutput v) {
      rbfOutput = v;
      return this;
    }

    public Builder particleSchedule(ParticleSchedule v) {
      particleSchedule = v;
      return this;
    }

    /** All four Search over Paths settings at once. */
    public Builder sop(SopSettings v) {
      sop = v;
      return this;
    }

    /** Search over Paths' settings, in {@code t1000} units. */
    public Builder sop(int odeStep, double odeSeedT, double forwardStep, double backwardStep) {
      return sop(new SopSettings(odeStep, odeSeedT, forwardStep, backwardStep));
    }

    /** NFE per particle evaluation: 2 under classifier-free guidance, else 1. */
    public Builder nfePerEvaluation(int v) {
      nfePerEvaluation = v;
      return this;
    }

    /** The config; throws {@link IllegalArgumentException} naming the first bad value. */
    public SearchConfig build() {
      return new SearchConfig(
          method,
          batchSize,
          nParticles,
          blockSize,
          initNParticles,
          maxNfe,
          maxSteps,
          timeSchedule,
          timeShiftTokens,
          scheme,
          rewardWeight,
          essThreshold,
          resampling,
          dpsStepSize,
          seed,
          rbfOutput,
          particleSchedule,
          sop,
          nfePerEvaluation);
    }
  }
}
