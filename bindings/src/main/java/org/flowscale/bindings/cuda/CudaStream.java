package org.flowscale.bindings.cuda;

/** A {@code CUstream}, owned; closing destroys it (pending work still completes). */
public final class CudaStream implements AutoCloseable {
  private long handle;

  private CudaStream(long handle) {
    this.handle = handle;
  }

  /**
   * A new stream in the current context. Non-blocking streams do not synchronise with the legacy
   * default stream, so libtorch's default-stream work does not serialise with ours.
   */
  public static CudaStream create(boolean nonBlocking) {
    return new CudaStream(
        CudaDriver.cuStreamCreate(
            nonBlocking ? CudaDriver.CU_STREAM_NON_BLOCKING : CudaDriver.CU_STREAM_DEFAULT));
  }

  /** The raw {@code CUstream}. */
  public long handle() {
    if (handle == 0) {
      throw new IllegalStateException("CUDA stream has been destroyed");
    }
    return handle;
  }

  /** Waits until all work queued on the stream is complete. */
  public void synchronize() {
    CudaDriver.cuStreamSynchronize(handle());
  }

  /**
   * Starts recording the stream's work into a graph instead of running it. Relaxed mode: work on
   * other threads is not affected, and allocation calls stay legal during the capture.
   */
  public void beginCapture() {
    CudaDriver.cuStreamBeginCapture(handle(), CudaDriver.CU_STREAM_CAPTURE_MODE_RELAXED);
  }

  /** Ends a capture; the returned graph holds the recorded work. */
  public CudaGraph endCapture() {
    return new CudaGraph(CudaDriver.cuStreamEndCapture(handle()));
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      CudaDriver.cuStreamDestroy(h);
    }
  }
}
