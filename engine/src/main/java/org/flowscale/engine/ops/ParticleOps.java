package org.flowscale.engine.ops;

import java.lang.foreign.MemorySegment;

/**
 * The batched particle operations that every search algorithm is written over; the seam between the
 * algorithms and a backend (CPU here, CUDA in {@code kernels/}). Backends own their tensors; the
 * operations hold no algorithm logic and touch no Java arrays in their hot paths.
 *
 * <p>Shape and dtype rules are checked by every implementation; a violation throws {@link
 * IllegalArgumentException} naming the argument. Operations may be asynchronous on a device
 * backend; {@link #download} and the scalar reductions synchronise.
 */
public interface ParticleOps extends AutoCloseable {

  /** The backend's name ({@code cpu}, {@code cuda}). */
  String name();

  /** A new tensor, contents unspecified. */
  Tensor allocate(int rows, int cols, DType dtype);

  /** Copies {@code dst.byteSize()} bytes of host memory (dst's dtype, row-major) into dst. */
  void upload(MemorySegment src, Tensor dst);

  /** Copies a tensor to host memory (its dtype, row-major). */
  void download(Tensor src, MemorySegment dst);

  /** Copies one tensor into another of the same shape and dtype. */
  void copy(Tensor src, Tensor dst);

  /**
   * The fused step: {@code out[i, j] = coef[i, 0] x[i, j] + coef[i, 1] u[i, j] + coef[i, 2] z[i,
   * j]} with {@code z} the Gaussian draws addressed by {@code noise}. {@code coef} is an F64 tensor
   * of {@code rows x 3} (see {@link org.flowscale.engine.math.Affine}); it is applied in float.
   * {@code u} may be null when every {@code coef[i, 1]} is 0 and {@code noise} null when every
   * {@code coef[i, 2]} is 0. {@code out} may be {@code x} or {@code u}. x, u and out share shape;
   * F32 or BF16 (arithmetic in float either way).
   */
  void affine(Tensor x, Tensor u, Tensor coef, Noise noise, Tensor out);

  /** Fills {@code out} (F32 or BF16) with the standard normal draws addressed by {@code noise}. */
  void gaussian(Noise noise, Tensor out);

  /** {@code dst[i] = src[index[i]]}, row-wise; index is I32 with one column and dst.rows rows. */
  void gather(Tensor src, Tensor index, Tensor dst);

  /**
   * For each group of {@code groupSize} consecutive rows of {@code values} (F64, one column), the
   * row index (into values) of its largest value, ties to the first; NaN never wins unless the
   * whole group is NaN. Writes {@code rows / groupSize} I32 values to {@code outIndex}.
   */
  void groupArgmax(Tensor values, int groupSize, Tensor outIndex);

  /** {@code log sum_i exp(v_i)} of an F64 column, stable for any magnitude. */
  double logSumExp(Tensor values);

  /**
   * Effective sample size {@code 1 / sum w_i^2} of the weights normalised from F64 log-weights;
   * between 1 and rows.
   */
  double effectiveSampleSize(Tensor logWeights);

  /**
   * Draws {@code outIndex.rows} indices in proportion to {@code exp(logWeights)} with uniforms from
   * {@code (seed, stream)} (see {@link org.flowscale.engine.rng.Philox#uniform}).
   */
  void resample(Tensor logWeights, Resampling scheme, long seed, long stream, Tensor outIndex);

  /**
   * The index of the first row of {@code t} that holds a non-finite value (NaN or an infinity), or
   * -1 when every value is finite. F32, BF16 or F64. A fused reduction that returns one int (it
   * synchronises): a search checks every model output and reward input with it, so it must cost no
   * host copy of the tensor on a device backend.
   *
   * <p>The default downloads the tensor and scans it on the host: correct for any backend, and the
   * fallback for one that has no fused version; the CPU and CUDA backends override it.
   */
  default int firstNonFiniteRow(Tensor t) {
    TensorChecks.finiteCheckable(t);
    try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
      java.lang.foreign.MemorySegment s = a.allocate(Math.max(1, t.byteSize()), 8);
      download(t, s);
      return TensorChecks.firstNonFiniteRow(s, t.dtype(), t.rows(), t.cols());
    }
  }

  /** Waits until every operation issued so far is complete. */
  void synchronize();

  /** Frees the backend's resources; tensors it allocated must be closed first or are leaked. */
  @Override
  void close();
}
