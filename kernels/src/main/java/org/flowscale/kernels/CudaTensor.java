package org.flowscale.kernels;

import org.flowscale.bindings.cuda.DeviceBuffer;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.NativeTensor;

/**
 * A tensor in device memory of one CUDA device, allocated by {@link CudaParticleOps}. Its {@link
 * #address()} is a device pointer in the primary context, so libtorch can wrap it without a copy.
 */
public final class CudaTensor implements NativeTensor {
  private final CudaParticleOps owner;
  private final DeviceBuffer buffer;
  private final int rows;
  private final int cols;
  private final DType dtype;
  private volatile boolean closed;

  CudaTensor(CudaParticleOps owner, DeviceBuffer buffer, int rows, int cols, DType dtype) {
    this.owner = owner;
    this.buffer = buffer;
    this.rows = rows;
    this.cols = cols;
    this.dtype = dtype;
  }

  /** The device pointer of element 0. */
  @Override
  public long address() {
    if (closed) {
      throw new IllegalStateException("tensor " + this + " has been closed");
    }
    return buffer.address();
  }

  @Override
  public int deviceIndex() {
    return owner.deviceIndex();
  }

  @Override
  public int rows() {
    return rows;
  }

  @Override
  public int cols() {
    return cols;
  }

  @Override
  public DType dtype() {
    return dtype;
  }

  boolean isClosed() {
    return closed;
  }

  DeviceBuffer buffer() {
    return buffer;
  }

  /**
   * Frees the device memory once the work queued on the backend's stream so far has run (it does
   * not wait for it). Graphs captured with this tensor can no longer be launched.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    owner.free(buffer);
  }

  @Override
  public String toString() {
    return "CudaTensor["
        + rows
        + " x "
        + cols
        + " "
        + dtype
        + " on cuda:"
        + owner.deviceIndex()
        + "]";
  }
}
