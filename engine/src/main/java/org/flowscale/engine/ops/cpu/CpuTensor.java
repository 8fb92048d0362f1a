package org.flowscale.engine.ops.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.NativeTensor;

/** A tensor in off-heap host memory; the CPU backend's storage. */
public final class CpuTensor implements NativeTensor {
  private final Arena arena;
  private final MemorySegment segment;
  private final int rows;
  private final int cols;
  private final DType dtype;

  CpuTensor(int rows, int cols, DType dtype) {
    if (rows < 0 || cols < 0) {
      throw new IllegalArgumentException(
          "tensor shape must be non-negative, got [" + rows + " x " + cols + "]");
    }
    if (dtype == null) {
      throw new IllegalArgumentException("dtype must not be null");
    }
    this.rows = rows;
    this.cols = cols;
    this.dtype = dtype;
    this.arena = Arena.ofShared();
    this.segment = arena.allocate(Math.max(1, (long) rows * cols * dtype.bytes()), 64);
  }

  /** The host memory, row-major in {@link #dtype()}; valid until {@link #close()}. */
  public MemorySegment segment() {
    return segment;
  }

  @Override
  public long address() {
    return segment.address();
  }

  @Override
  public int deviceIndex() {
    return -1;
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

  @Override
  public void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }

  @Override
  public String toString() {
    return "CpuTensor[" + rows + " x " + cols + " " + dtype + "]";
  }
}
