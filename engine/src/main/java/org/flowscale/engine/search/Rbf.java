package org.flowscale.engine.search;

/**
 * RBF: rollover budget forcing, the paper's method (MATH.md section 6). {@code B K0} initial
 * particles, then rounds of one SDE proposal per chain under a per-step quota {@code q = floor((N -
 * B K0) / (S B))}, with rollover of unused quota when a proposal beats the chain's best reward.
 *
 * <p>At the last steps the chains stop advancing at grid index {@code S - 2} and keep proposing
 * onto the last nonzero time with all remaining budget (as the reference implementation does): a
 * proposal at {@code t = 0} needs no model call and would make the budget meaningless, and the
 * Tweedie estimate at the last nonzero time already is the denoised sample. The output ({@code
 * rbf_output}) is the Tweedie estimate of the best proposal of the last step reached ({@code
 * last_step}, the reference's rule and the default) or of the whole run ({@code run_best}); its
 * {@code finalState} is that proposal's noisy state and {@code outputTime} its time. The engine
 * spends the whole budget; the reference stops when {@code nfe + B >= N}. Needs {@code max_steps >=
 * 2}.
 */
public final class Rbf extends RolloverBudget {
  public Rbf() {
    super(FilteringMethod.RBF, false);
  }
}
