package org.flowscale.engine.search;

/**
 * Search over Paths' settings (MATH.md section 6a), in the reference's {@code t1000} units.
 *
 * @param odeStep {@code ode_step}, E: Euler steps per ODE solve
 * @param odeSeedT {@code ode_seed_t}, s0: where the first ODE solve from {@code t1000 = 1000} stops
 * @param forwardStep {@code forward_step}, df: how far each round noises forward
 * @param backwardStep {@code backward_step}, db: how far each round solves back; {@code db > df}
 */
public record SopSettings(int odeStep, double odeSeedT, double forwardStep, double backwardStep) {
  /** The reference's defaults: E 4, s0 120, df 780, db 810 (4 rounds). */
  public static final SopSettings DEFAULT = new SopSettings(4, 120, 780, 810);

  public SopSettings {
    if (odeStep < 1) {
      throw new IllegalArgumentException("ode_step must be >= 1, got " + odeStep);
    }
    if (!(odeSeedT > 0 && odeSeedT < 1000)) {
      throw new IllegalArgumentException(
          "ode_seed_t must be in (0, 1000) (t1000 units), got " + odeSeedT);
    }
    if (!(forwardStep > 0) || !Double.isFinite(forwardStep)) {
      throw new IllegalArgumentException(
          "forward_step must be finite and > 0 (t1000 units), got " + forwardStep);
    }
    if (!(backwardStep > forwardStep) || !Double.isFinite(backwardStep)) {
      throw new IllegalArgumentException(
          "backward_step "
              + backwardStep
              + " must be finite and > forward_step "
              + forwardStep
              + ": each round must end nearer to t = 0 than it started");
    }
    if (odeSeedT + forwardStep > 1000) {
      throw new IllegalArgumentException(
          "ode_seed_t "
              + odeSeedT
              + " + forward_step "
              + forwardStep
              + " = "
              + (odeSeedT + forwardStep)
              + " noises past t1000 = 1000; use forward_step <= "
              + (1000 - odeSeedT));
    }
  }

  /** Rounds of "noise forward, solve back": {@code ceil(s0 / (db - df))}. */
  public long rounds() {
    return (long) Math.ceil(odeSeedT / (backwardStep - forwardStep));
  }

  /**
   * The time (in [0, 1]) a round starts from: {@code s_k = s0 - k (db - df)} for round k, and 0
   * after the last round.
   */
  public double roundStart(long k) {
    if (k >= rounds()) {
      return 0;
    }
    return Math.max(0, odeSeedT - k * (backwardStep - forwardStep)) / 1000;
  }

  /** The time (in [0, 1]) round k noises forward to: {@code s_k + df}. */
  public double roundPeak(long k) {
    return Math.min(1, roundStart(k) + forwardStep / 1000);
  }

  /**
   * NFE of a run with {@code B} chains of {@code K} particles: {@code B E + B K E ceil(s0 / (db -
   * df))}, saturating at {@link Long#MAX_VALUE}.
   */
  public long nfe(long chains, long particles) {
    try {
      long perRound = Math.multiplyExact(Math.multiplyExact(chains, particles), odeStep);
      return Math.addExact(
          Math.multiplyExact(chains, odeStep), Math.multiplyExact(perRound, rounds()));
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }
}
