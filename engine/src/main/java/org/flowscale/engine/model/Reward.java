package org.flowscale.engine.model;

import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * A batched reward on clean samples (the Tweedie estimates of the particles, in the model's data
 * space; image rewards decode them first). Higher is better. Conditioning is bound when it is made.
 * Reward calls are not NFE.
 */
public interface Reward extends AutoCloseable {

  /** The config name ({@code counting}, {@code compositional}, ...). */
  String name();

  /** Writes one score per row of {@code x0} into {@code out} (F64, one column). */
  void score(ParticleOps ops, Tensor x0, Tensor out);

  /** Whether {@link #gradient} is available (needed by the DPS methods). */
  default boolean differentiable() {
    return false;
  }

  /**
   * Scores and the gradient of each row's score with respect to that row of {@code x0}.
   *
   * @throws UnsupportedOperationException when not {@link #differentiable()}
   */
  default void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
    throw new UnsupportedOperationException(name() + " reward is not differentiable");
  }

  @Override
  default void close() {}
}
