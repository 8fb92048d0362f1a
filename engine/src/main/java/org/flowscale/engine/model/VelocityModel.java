package org.flowscale.engine.model;

import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * A flow model trained on the linear interpolant: {@code u_t(x) = E[-x0 + eps | x_t = x]}. One call
 * for {@code n} rows costs {@code n} NFE. Conditioning (the prompt) is bound when the model is
 * made: by {@link FlowModel#condition}, which shares the loaded weights between requests.
 *
 * <p>Inputs and outputs are tensors of the backend {@code ops} that the search runs on; a model
 * that computes on the host copies through {@link ParticleOps#download}/{@link ParticleOps#upload}
 * (a no-op copy on the CPU backend).
 */
public interface VelocityModel extends SampleSpace, AutoCloseable {

  /**
   * Writes the velocity at model time {@code t[i]} (F64, one column, in [0, 1]) of each row of
   * {@code x} into {@code out} (same shape as x).
   */
  void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out);

  /** Whether {@link #velocityVjp} is available (needed by the DPS methods). */
  default boolean hasVjp() {
    return false;
  }

  /**
   * The vector-Jacobian product {@code (du/dx)^T v} of each row, at model time {@code t[i]}.
   *
   * @throws UnsupportedOperationException when {@link #hasVjp()} is false
   */
  default void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no gradient");
  }

  /**
   * NFE one evaluation of one row costs: 1, or 2 for a classifier-free guided model ({@link
   * GuidedVelocity}: a conditional and a negative velocity per row). Searches count {@code rows *
   * nfePerEvaluation()} per call, and their budget rules assume the config's {@link
   * org.flowscale.engine.search.SearchConfig#nfePerEvaluation()}, which must agree.
   */
  default int nfePerEvaluation() {
    return 1;
  }

  /** Frees what belongs to this model (its request's state; for a one-off model, its weights). */
  @Override
  default void close() {}
}
