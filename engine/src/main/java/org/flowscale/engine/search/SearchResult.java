package org.flowscale.engine.search;

import java.util.List;

/**
 * What a search returns.
 *
 * @param method the method that ran
 * @param sample the chosen sample's Tweedie estimate (the output), {@code dim} floats
 * @param finalState the chosen particle's state at its last time (equal to {@code sample} when the
 *     run ends at {@code t = 0})
 * @param reward the chosen sample's reward
 * @param outputTime the sampling time at which the output was scored: the time of the velocity its
 *     Tweedie estimate was computed from. A step to {@code t = 0} lands on the estimate of the time
 *     it leaves, so for the methods that end at 0 this is their last nonzero time ({@code t_{S-1}},
 *     or Search over Paths' last Euler time); for RBF it is the chosen proposal's time
 * @param nfe model evaluations spent (never above {@code max_nfe})
 * @param maxNfe the budget
 * @param gradientPasses backward passes (vector-Jacobian products) spent by the DPS methods
 * @param rewardCalls rows scored by the reward
 * @param trace the per-round trace
 * @param time where the wall time went
 */
public record SearchResult(
    FilteringMethod method,
    float[] sample,
    float[] finalState,
    double reward,
    double outputTime,
    long nfe,
    long maxNfe,
    long gradientPasses,
    long rewardCalls,
    List<TraceEntry> trace,
    TimeSplit time) {
  public SearchResult {
    trace = List.copyOf(trace);
  }
}
