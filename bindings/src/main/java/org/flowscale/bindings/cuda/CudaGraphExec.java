package org.flowscale.bindings.cuda;

/** An instantiated graph ({@code CUgraphExec}), owned: replays the captured work with one call. */
public final class CudaGraphExec implements AutoCloseable {
  private long handle;

  CudaGraphExec(long handle) {
    this.handle = handle;
  }

  /** Enqueues the whole graph on {@code stream}. */
  public void launch(CudaStream stream) {
    CudaDriver.cuGraphLaunch(handle(), stream.handle());
  }

  public long handle() {
    if (handle == 0) {
      throw new IllegalStateException("CUDA graph instance has been destroyed");
    }
    return handle;
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      CudaDriver.cuGraphExecDestroy(h);
    }
  }
}
