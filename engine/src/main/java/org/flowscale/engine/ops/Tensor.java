package org.flowscale.engine.ops;

/**
 * A dense row-major matrix of {@code rows} particles by {@code cols} values, owned by the {@link
 * ParticleOps} that allocated it (host memory for the CPU backend, device memory for CUDA). Per
 * particle scalars are tensors with one column. Closing frees it; a closed tensor must not be used.
 */
public interface Tensor extends AutoCloseable {
  int rows();

  int cols();

  DType dtype();

  /** {@code rows * cols}. */
  default long elements() {
    return (long) rows() * cols();
  }

  /** {@code elements * dtype.bytes}. */
  default long byteSize() {
    return elements() * dtype().bytes();
  }

  @Override
  void close();
}
