package org.flowscale.bindings.torch;

/**
 * A particle backend whose device work runs on one CUDA stream. TorchScript models and rewards make
 * that stream libtorch's current stream before they call libtorch, so the backend's kernels and
 * libtorch's stay ordered without device-wide synchronisation. Backends that do not implement this
 * are synchronised around each libtorch call instead (correct, slower).
 */
public interface CudaStreamSource {
  /** The CUDA ordinal the stream belongs to. */
  int cudaDevice();

  /** The {@code cudaStream_t} (or {@code CUstream}, the same handle) the backend issues work on. */
  long cudaStream();
}
