package org.flowscale.bindings.cuda;

/**
 * A {@code CUevent}, owned: times work on a stream ({@link #create()}), or marks a point in a
 * stream that the host can poll ({@link #createWithoutTiming()}, cheaper to record).
 */
public final class CudaEvent implements AutoCloseable {
  private long handle;

  private CudaEvent(long handle) {
    this.handle = handle;
  }

  /** A new timing event in the current context. */
  public static CudaEvent create() {
    return new CudaEvent(CudaDriver.cuEventCreate(CudaDriver.CU_EVENT_DEFAULT));
  }

  /** A new event without timing (for ordering and polling only) in the current context. */
  public static CudaEvent createWithoutTiming() {
    return new CudaEvent(CudaDriver.cuEventCreate(CudaDriver.CU_EVENT_DISABLE_TIMING));
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

  /**
   * Whether the work before the last recorded point is complete (true if never recorded); does not
   * wait.
   */
  public boolean isComplete() {
    return CudaDriver.cuEventQuery(handle());
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
