package org.flowscale.engine.ops;

/**
 * A tensor whose storage has a raw address that native code can use without a copy: host memory
 * ({@link #deviceIndex()} {@code -1}) or memory of CUDA device {@code deviceIndex}. Lets a model
 * running in libtorch read and write particles owned by a backend (zero-copy).
 */
public interface NativeTensor extends Tensor {
  /** The address of element 0. */
  long address();

  /** -1 for host memory, else the CUDA device ordinal. */
  int deviceIndex();
}
