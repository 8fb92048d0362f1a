package org.flowscale.bindings.cuda;

/**
 * One retain of a device's primary context: the context the CUDA runtime, and therefore libtorch,
 * uses, so device pointers pass freely between flowscale and a model running in libtorch. Closing
 * releases the retain (the driver destroys the context when the last retain goes).
 */
public final class CudaContext implements AutoCloseable {
  private final int ordinal;
  private final int device;
  private long handle;

  private CudaContext(int ordinal, int device, long handle) {
    this.ordinal = ordinal;
    this.device = device;
    this.handle = handle;
  }

  /** Initialises the driver, retains device {@code ordinal}'s primary context, makes it current. */
  public static CudaContext retainPrimary(int ordinal) {
    CudaDriver.cuInit(0);
    int count = CudaDriver.cuDeviceGetCount();
    if (ordinal < 0 || ordinal >= count) {
      throw new IllegalArgumentException(
          "CUDA device " + ordinal + " does not exist: this machine has " + count);
    }
    int device = CudaDriver.cuDeviceGet(ordinal);
    long ctx = CudaDriver.cuDevicePrimaryCtxRetain(device);
    CudaContext c = new CudaContext(ordinal, device, ctx);
    try {
      c.makeCurrent();
    } catch (RuntimeException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Binds the context to the calling thread (cheap; needed once per thread that issues work). */
  public void makeCurrent() {
    CudaDriver.cuCtxSetCurrent(live());
  }

  /** Waits for all work in the context. */
  public void synchronize() {
    makeCurrent();
    CudaDriver.cuCtxSynchronize();
  }

  /** The device ordinal. */
  public int ordinal() {
    return ordinal;
  }

  /** The {@code CUdevice}. */
  public int device() {
    return device;
  }

  /** The raw {@code CUcontext}. */
  public long handle() {
    return live();
  }

  private long live() {
    if (handle == 0) {
      throw new IllegalStateException("CUDA context of device " + ordinal + " has been closed");
    }
    return handle;
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      handle = 0;
      CudaDriver.cuDevicePrimaryCtxRelease(device);
    }
  }
}
