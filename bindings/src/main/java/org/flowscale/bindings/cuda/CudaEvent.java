package org.flowscale.bindings.cuda;

/** A {@code CUevent} with timing enabled, owned; used to time work on a stream. */
public final class CudaEvent implements AutoCloseable {
  private long handle;

  private CudaEvent(long handle) {
    this.handle = handle;
  }

  /** A new timing event in the current context. */
  public static CudaEvent create() {
    return new CudaEvent(CudaDriver.cuEventCreate(CudaDriver.CU_EVENT_DEFAULT));
  }

  public long handle() {
    if (handle == 0) {
      throw new IllegalStateException("CUDA event has been destroyed");
    }
    return handle;
  }

  /** Records the event at the current end of the stream's queue. */
  public void record(CudaStream stream) {
    CudaDriver.cuEventRecord(handle(), stream.handle());
  }

  /** Waits until the work before the recorded point is complete. */
  public void synchronize() {
    CudaDriver.cuEventSynchronize(handle());
  }

  /** Milliseconds from {@code this} to {@code end}; both recorded; waits for {@code end}. */
  public float elapsedMillisTo(CudaEvent end) {
    end.synchronize();
    return CudaDriver.cuEventElapsedTime(handle(), end.handle());
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      CudaDriver.cuEventDestroy(h);
    }
  }
}
