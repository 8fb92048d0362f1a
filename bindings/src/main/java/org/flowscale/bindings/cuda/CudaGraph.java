package org.flowscale.bindings.cuda;

/** A captured {@code CUgraph}, owned; instantiate it to launch it. */
public final class CudaGraph implements AutoCloseable {
  private long handle;

  CudaGraph(long handle) {
    this.handle = handle;
  }

  /** An executable instance; independent of this graph afterwards (this may be closed). */
  public CudaGraphExec instantiate() {
    return new CudaGraphExec(CudaDriver.cuGraphInstantiateWithFlags(handle(), 0));
  }

  public long handle() {
    if (handle == 0) {
      throw new IllegalStateException("CUDA graph has been destroyed");
    }
    return handle;
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      CudaDriver.cuGraphDestroy(h);
    }
  }
}
