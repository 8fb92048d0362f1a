package org.flowscale.engine.ops;

/**
 * Addresses the Gaussian draws of one operation: row {@code i} of the output takes the draws of
 * particle id {@code ids[i]} (or {@code i} when {@code ids} is null) in {@code stream}, element
 * {@code j} for column {@code j}. See {@link org.flowscale.engine.rng.Philox}.
 *
 * @param seed the run's seed
 * @param stream a stream per use (e.g. per step and round), so no draw is ever reused
 * @param ids I32 tensor with one id per row, or null for the row index
 */
public record Noise(long seed, long stream, Tensor ids) {
  public Noise {
    if (ids != null && (ids.dtype() != DType.I32 || ids.cols() != 1)) {
      throw new IllegalArgumentException(
          "noise ids must be an I32 tensor with one column, got "
              + ids.dtype()
              + " ["
              + ids.rows()
              + " x "
              + ids.cols()
              + "]");
    }
  }
}
