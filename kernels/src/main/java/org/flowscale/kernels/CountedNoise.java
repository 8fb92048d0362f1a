package org.flowscale.kernels;

import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.Tensor;

/**
 * Gaussian draws addressed relative to a device-resident {@link StreamCounter}: the kernel draws
 * from stream {@code counter + offset}, with the counter's value when the kernel runs. This is the
 * form a round replayed as a CUDA graph needs (see {@link CudaParticleOps#capture(StreamCounter,
 * long, Runnable)}); eagerly, an operation with a {@code CountedNoise} while the counter holds
 * {@code c} draws exactly what the same operation with {@link #at at(c)} draws.
 *
 * @param seed the run's seed
 * @param counter the counter holding the stream base
 * @param offset this use's stream relative to the base (one offset per noise use in a round)
 * @param ids I32 tensor with one id per row, or null for the row index (as in {@link Noise})
 */
public record CountedNoise(long seed, StreamCounter counter, long offset, Tensor ids) {
  public CountedNoise {
    if (counter == null) {
      throw new IllegalArgumentException("counted noise needs a stream counter, got null");
    }
    if (offset < 0) {
      throw new IllegalArgumentException("stream offset must be >= 0, got " + offset);
    }
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

  /** The eager noise this draws while the counter holds {@code counterValue}. */
  public Noise at(long counterValue) {
    return new Noise(seed, counterValue + offset, ids);
  }
}
