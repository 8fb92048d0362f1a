package org.flowscale.engine.search;

/**
 * Callbacks from a running search (progress bars, intermediate images) and its stop control. A
 * search calls {@link #stopRequested} before every model call; when it answers true the search ends
 * with a {@link SearchStoppedException} holding the best sample found so far. An interrupt of the
 * searching thread ({@link Thread#interrupt}) stops it the same way.
 */
public interface SearchListener {
  SearchListener NONE = new SearchListener() {};

  /** NFE spent so far against the budget. */
  default void onProgress(long nfe, long maxNfe) {}

  /**
   * After each step of the search: the Tweedie estimates of the live particles (host floats, rows x
   * dim, row-major) and their rewards. Only called when {@link #wantsIntermediates()}.
   */
  default void onStep(int step, double time, float[] tweedies, int rows, double[] rewards) {}

  /** Whether {@link #onStep} should be called (it costs a download per step). */
  default boolean wantsIntermediates() {
    return false;
  }

  /**
   * Whether the search should stop now (a cancellation, a deadline). Polled once per round, before
   * each model call; must be cheap.
   */
  default boolean stopRequested() {
    return false;
  }
}
