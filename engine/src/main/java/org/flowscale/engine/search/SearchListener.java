package org.flowscale.engine.search;

/** Progress callbacks from a running search (for progress bars and intermediate images). */
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
}
