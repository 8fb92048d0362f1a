package org.flowscale.bindings.cuda;

import java.lang.foreign.MemorySegment;

/**
 * Page-locked host memory from {@code cuMemHostAlloc}: copies from and to it run truly
 * asynchronously, and (with unified addressing, every 64-bit Linux system) kernels can read and
 * write it at the same address. Closing frees it.
 */
public final class PinnedBuffer implements AutoCloseable {
  private MemorySegment segment;

  private PinnedBuffer(MemorySegment segment) {
    this.segment = segment;
  }

  /** {@code bytes} of pinned host memory, mapped into the device address space. */
  public static PinnedBuffer allocate(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("buffer size must be >= 0, got " + bytes);
    }
    long p =
        CudaDriver.cuMemHostAlloc(
            Math.max(1, bytes),
            CudaDriver.CU_MEMHOSTALLOC_PORTABLE | CudaDriver.CU_MEMHOSTALLOC_DEVICEMAP);
    return new PinnedBuffer(MemorySegment.ofAddress(p).reinterpret(bytes));
  }

  /** The host memory; invalid after {@link #close()}. */
  public MemorySegment segment() {
    if (segment == null) {
      throw new IllegalStateException("pinned buffer has been freed");
    }
    return segment;
  }

  /** The address, valid on the host and (unified addressing) on the device. */
  public long address() {
    return segment().address();
  }

  public long byteSize() {
    return segment().byteSize();
  }

  @Override
  public synchronized void close() {
    if (segment != null) {
      long a = segment.address();
      segment = null;
      CudaDriver.cuMemFreeHost(a);
    }
  }
}
