package org.flowscale.engine.search;

/**
 * The config rules of MATH.md section 6, each refusing with a message that names the numbers that
 * clash and what would fit. Shared by the methods' {@link SearchMethod#validate}.
 */
final class Rules {
  private Rules() {}

  /** {@code B K S <= N}: the fixed budget of every method but RBF. */
  static void fixedBudget(SearchConfig c) {
    long b = c.batchSize();
    long k = c.nParticles();
    long s = c.maxSteps();
    long need = b * k * s;
    if (need > c.evaluationBudget()) {
      long fitB = c.evaluationBudget() / (k * s);
      String fit =
          fitB >= 1
              ? "use batch_size <= " + fitB
              : "use max_steps <= "
                  + Math.max(1, c.evaluationBudget() / (b * k))
                  + " or raise max_nfe";
      throw new IllegalArgumentException(
          c.method().configName()
              + ": max_steps "
              + s
              + " x batch_size "
              + b
              + " x n_particles "
              + k
              + " = "
              + need
              + " "
              + unit(c)
              + " exceeds max_nfe "
              + budget(c)
              + "; "
              + fit
              + " (or max_nfe >= "
              + need * c.nfePerEvaluation()
              + ")");
    }
  }

  /**
   * {@code max_nfe} as messages show it: with classifier-free guidance, also how many evaluations
   * it pays for.
   */
  static String budget(SearchConfig c) {
    return c.nfePerEvaluation() == 1
        ? Long.toString(c.maxNfe())
        : c.maxNfe()
            + " ("
            + c.evaluationBudget()
            + " evaluations: classifier-free guidance costs "
            + c.nfePerEvaluation()
            + " NFE per particle evaluation)";
  }

  /** What budgets count in: NFE, or evaluations when one costs more than one NFE. */
  static String unit(SearchConfig c) {
    return c.nfePerEvaluation() == 1 ? "NFE" : "evaluations";
  }

  /** Methods that run single trajectories (BoN, SMC, DPS): {@code K = 1}. */
  static void singleParticle(SearchConfig c) {
    if (c.nParticles() != 1) {
      throw new IllegalArgumentException(
          c.method().configName()
              + " runs batch_size independent particles and needs n_particles = 1, got n_particles "
              + c.nParticles()
              + "; for the same budget use batch_size "
              + (long) c.batchSize() * c.nParticles()
              + " with n_particles 1");
    }
  }

  /** {@code block_size} means something only to CoDe. */
  static void noBlocks(SearchConfig c) {
    if (c.blockSize() != 1) {
      throw new IllegalArgumentException(
          "block_size "
              + c.blockSize()
              + " is meaningless for "
              + c.method().configName()
              + " (only code selects every block_size steps); set block_size 1"
              + (c.method() == FilteringMethod.SVDD || c.method() == FilteringMethod.SVDD_DPS
                  ? " or use filtering_method code"
                  : ""));
    }
  }

  /** CoDe's block must fit in the run. */
  static void blockFits(SearchConfig c) {
    if (c.blockSize() > c.maxSteps()) {
      throw new IllegalArgumentException(
          "block_size "
              + c.blockSize()
              + " exceeds max_steps "
              + c.maxSteps()
              + ": no selection would happen before the end; use block_size <= "
              + c.maxSteps());
    }
  }

  /** The DPS methods need a nonzero step size. */
  static void dpsStep(SearchConfig c) {
    if (c.method().usesGradient() && !(c.dpsStepSize() > 0)) {
      throw new IllegalArgumentException(
          c.method().configName()
              + " nudges along the reward gradient and needs a dps step size > 0, got "
              + c.dpsStepSize());
    }
  }

  /**
   * RBF: {@code B K0 < N}, a quota of at least one NFE per chain per step, and at least two steps
   * (proposals land on the last nonzero time, see {@link Rbf}).
   */
  static void rbfBudget(SearchConfig c) {
    long b = c.batchSize();
    long k0 = c.initNParticles();
    long s = c.maxSteps();
    long init = b * k0;
    long n = c.evaluationBudget();
    long cost = c.nfePerEvaluation();
    if (init >= n) {
      throw new IllegalArgumentException(
          c.method().configName()
              + ": init_n_particles "
              + k0
              + " x batch_size "
              + b
              + " = "
              + init
              + " "
              + unit(c)
              + " leaves nothing of max_nfe "
              + budget(c)
              + " for the search; use init_n_particles <= "
              + Math.max(1, (n - b * s) / b)
              + " or max_nfe >= "
              + (init + b * s) * cost);
    }
    if (s < 2) {
      throw new IllegalArgumentException(
          c.method().configName()
              + " needs max_steps >= 2 (it proposes up to the last nonzero time), got max_steps "
              + s);
    }
    long quota = (n - init) / (s * b);
    if (quota < 1) {
      throw new IllegalArgumentException(
          c.method().configName()
              + ": quota floor((max_nfe "
              + budget(c)
              + " - init_n_particles "
              + k0
              + " x batch_size "
              + b
              + ") / (max_steps "
              + s
              + " x batch_size "
              + b
              + ")) = 0 "
              + unit(c)
              + " per chain per step; use max_nfe >= "
              + (init + s * b) * cost
              + (n - b * s >= b ? " or init_n_particles <= " + (n - b * s) / b : ""));
    }
  }

  /**
   * {@code particle_schedule linear} (MATH.md section 6b) is SVDD's and SMC's, and each chain's
   * counts must cover every step with at least one particle: SVDD needs {@code floor(N / B) >= S};
   * SMC runs one population ({@code batch_size 1}) whose sizes add up to {@code N >= S}.
   */
  static void particleSchedule(SearchConfig c) {
    if (c.particleSchedule() == ParticleSchedule.CONSTANT) {
      return;
    }
    String name = c.method().configName();
    long s = c.maxSteps();
    long b = c.batchSize();
    switch (c.method()) {
      case SVDD -> {
        long m = c.evaluationBudget() / b;
        if (m < s) {
          throw new IllegalArgumentException(
              "svdd with particle_schedule linear: floor(max_nfe "
                  + budget(c)
                  + " / batch_size "
                  + b
                  + ") = "
                  + m
                  + " particles per chain cannot give each of max_steps "
                  + s
                  + " steps one; use max_nfe >= "
                  + b * s * c.nfePerEvaluation()
                  + (c.evaluationBudget() >= s
                      ? " or batch_size <= " + c.evaluationBudget() / s
                      : ""));
        }
      }
      case SMC -> {
        if (b != 1) {
          throw new IllegalArgumentException(
              "smc with particle_schedule linear runs one population whose size follows the"
                  + " schedule (its sizes add up to max_nfe); set batch_size 1, got "
                  + b);
        }
        if (c.evaluationBudget() < s) {
          throw new IllegalArgumentException(
              "smc with particle_schedule linear: max_nfe "
                  + budget(c)
                  + " cannot give each of max_steps "
                  + s
                  + " steps one particle; use max_nfe >= "
                  + s * c.nfePerEvaluation());
        }
      }
      default ->
          throw new IllegalArgumentException(
              "particle_schedule linear is for svdd and smc; "
                  + name
                  + " runs a constant number of particles (set particle_schedule constant)");
    }
  }

  /** The linear schedule of one chain: {@code S} counts adding up to {@code floor(N / B)}. */
  static int[] linearCounts(SearchConfig c) {
    return ParticleSchedule.linear(c.evaluationBudget() / c.batchSize(), c.maxSteps());
  }

  /** Search over Paths: {@code B E + B K E ceil(s0 / (db - df)) <= N} (MATH.md section 6a). */
  static void sopBudget(SearchConfig c) {
    SopSettings p = c.sop();
    long b = c.batchSize();
    long k = c.nParticles();
    long e = p.odeStep();
    long rounds = p.rounds();
    long need = p.nfe(b, k);
    if (need <= c.evaluationBudget()) {
      return;
    }
    long perParticle = b * e * rounds;
    long fitK = c.evaluationBudget() > b * e ? (c.evaluationBudget() - b * e) / perParticle : 0;
    String fit =
        fitK >= 1
            ? "use n_particles <= " + fitK
            : "use fewer rounds (a larger backward_step - forward_step), a smaller ode_step or"
                + " batch_size";
    throw new IllegalArgumentException(
        "sop: batch_size "
            + b
            + " x ode_step "
            + e
            + " x (1 + n_particles "
            + k
            + " x "
            + rounds
            + " rounds) = "
            + (need == Long.MAX_VALUE ? "more than " + Long.MAX_VALUE : need)
            + " "
            + unit(c)
            + " exceeds max_nfe "
            + budget(c)
            + ", with rounds = ceil(ode_seed_t "
            + fmt(p.odeSeedT())
            + " / (backward_step "
            + fmt(p.backwardStep())
            + " - forward_step "
            + fmt(p.forwardStep())
            + ")); "
            + fit
            + (need == Long.MAX_VALUE
                ? ""
                : " (or max_nfe >= " + need * c.nfePerEvaluation() + ")"));
  }

  private static String fmt(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }
}
