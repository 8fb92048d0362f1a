package org.flowscale.bindings.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Device memory from {@code cuMemAlloc}, owned by this object; closing frees it. Allocate and free
 * with the owning context current on the calling thread.
 */
public final class DeviceBuffer implements AutoCloseable {
  private final long bytes;
  private long address;

  private DeviceBuffer(long address, long bytes) {
    this.address = address;
    this.bytes = bytes;
  }

  /** {@code bytes} of device memory (at least 1), 256-byte aligned, contents undefined. */
  public static DeviceBuffer allocate(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("buffer size must be >= 0, got " + bytes);
    }
    return new DeviceBuffer(CudaDriver.cuMemAlloc(Math.max(1, bytes)), bytes);
  }

  /** The device address ({@code CUdeviceptr}). */
  public long address() {
    if (address == 0) {
      throw new IllegalStateException("device buffer has been freed");
    }
    return address;
  }

  /** Usable size in bytes. */
  public long byteSize() {
    return bytes;
  }

  /** Whether {@link #close()} has run. */
  public boolean isClosed() {
    return address == 0;
  }

  /** Copies {@code n} bytes from host memory to offset 0, synchronously. */
  public void copyFromHost(MemorySegment src, long n) {
    checkRange(src, n, "src");
    CudaDriver.cuMemcpyHtoD(address(), src, n);
  }

  /** Copies {@code n} bytes from offset 0 to host memory, synchronously. */
  public void copyToHost(MemorySegment dst, long n) {
    checkRange(dst, n, "dst");
    CudaDriver.cuMemcpyDtoH(dst, address(), n);
  }

  /** Enqueues a copy of {@code n} bytes from host memory (see cuMemcpyHtoDAsync's rules). */
  public void copyFromHostAsync(MemorySegment src, long n, CudaStream stream) {
    checkRange(src, n, "src");
    CudaDriver.cuMemcpyHtoDAsync(address(), src, n, stream.handle());
  }

  /** Enqueues a copy of {@code n} bytes to host memory; complete after the stream syncs. */
  public void copyToHostAsync(MemorySegment dst, long n, CudaStream stream) {
    checkRange(dst, n, "dst");
    CudaDriver.cuMemcpyDtoHAsync(dst, address(), n, stream.handle());
  }

  /** Enqueues a device-to-device copy of {@code n} bytes into {@code dst}. */
  public void copyToAsync(DeviceBuffer dst, long n, CudaStream stream) {
    if (n < 0 || n > bytes || n > dst.bytes) {
      throw new IllegalArgumentException(
          "copy of " + n + " bytes does not fit buffers of " + bytes + " and " + dst.bytes);
    }
    CudaDriver.cuMemcpyDtoDAsync(dst.address(), address(), n, stream.handle());
  }

  private void checkRange(MemorySegment host, long n, String name) {
    if (host == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (!host.isNative()) {
      throw new IllegalArgumentException(name + " must be native (off-heap) memory");
    }
    if (n < 0 || n > bytes || n > host.byteSize()) {
      throw new IllegalArgumentException(
          "copy of "
              + n
              + " bytes does not fit the device buffer ("
              + bytes
              + ") and "
              + name
              + " ("
              + host.byteSize()
              + ")");
    }
  }

  @Override
  public synchronized void close() {
    if (address != 0) {
      long a = address;
      address = 0;
      CudaDriver.cuMemFree(a);
    }
  }

  @Override
  public String toString() {
    return "DeviceBuffer[" + bytes + " bytes at 0x" + Long.toHexString(address) + "]";
  }
}
