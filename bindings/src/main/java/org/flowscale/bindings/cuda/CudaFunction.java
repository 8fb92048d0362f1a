package org.flowscale.bindings.cuda;

/**
 * A kernel of a {@link CudaModule} (not owned: valid while the module is loaded).
 *
 * @param handle the {@code CUfunction}
 * @param name the kernel's entry name, for messages
 */
public record CudaFunction(long handle, String name) {
  /** Enqueues the kernel on {@code stream} with the parameters in {@code args}. */
  public void launch(
      int gridX,
      int gridY,
      int blockX,
      int blockY,
      int sharedBytes,
      CudaStream stream,
      KernelArgs args) {
    if (gridX <= 0 || gridY <= 0 || blockX <= 0 || blockY <= 0) {
      throw new IllegalArgumentException(
          name
              + ": launch dimensions must be positive, got grid ("
              + gridX
              + ", "
              + gridY
              + ") block ("
              + blockX
              + ", "
              + blockY
              + ")");
    }
    try {
      CudaDriver.cuLaunchKernel(
          handle,
          gridX,
          gridY,
          1,
          blockX,
          blockY,
          1,
          sharedBytes,
          stream.handle(),
          args.pointers());
    } catch (CudaException e) {
      throw new CudaException(
          "cuLaunchKernel(" + name + ")", e.code(), e.errorName(), e.errorText());
    }
  }
}
