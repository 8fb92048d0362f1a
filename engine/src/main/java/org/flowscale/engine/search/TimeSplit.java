package org.flowscale.engine.search;

/**
 * Where a run's wall time went, in nanoseconds: in the velocity model, in the reward, and
 * everything else (the engine's own work: particle operations and bookkeeping).
 */
public record TimeSplit(long modelNanos, long rewardNanos, long engineNanos) {
  public long totalNanos() {
    return modelNanos + rewardNanos + engineNanos;
  }
}
