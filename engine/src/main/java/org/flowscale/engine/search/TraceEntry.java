package org.flowscale.engine.search;

/**
 * One scored proposal or selection in a run's trace.
 *
 * @param round the round (or step) index
 * @param chain the chain (or particle, for BoN and SMC)
 * @param time the sampling time the proposal sits at
 * @param reward its Tweedie reward
 * @param event what happened to it
 * @param nfe NFE spent so far when it was scored
 */
public record TraceEntry(int round, int chain, double time, double reward, Event event, long nfe) {
  /** What happened to a scored proposal. */
  public enum Event {
    /** Scored, not chosen (yet). */
    PROPOSED,
    /** Chosen as the chain's next state when its quota ran out (RBF), or kept by a selection. */
    ACCEPTED,
    /** Beat the chain's best reward and moved it at once, carrying leftover quota (RBF). */
    ROLLED_OVER,
    /** Picked by resampling (SMC). */
    RESAMPLED,
    /** The final output. */
    FINAL
  }
}
