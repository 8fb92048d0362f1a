package org.flowscale.bindings.torch;

import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.NativeTensor;

/**
 * A contiguous tensor owned by libtorch (a forward result, or memory from {@link TorchShim#empty});
 * freed by {@link #close()}. As a {@link NativeTensor} it is {@code shape[0]} rows by the product
 * of the other sizes, so engine code can hand it to a model without copies.
 */
public final class TorchTensor implements NativeTensor {
  private final TorchShim shim;
  private final TensorDesc desc;
  private volatile MemorySegment handle;

  private TorchTensor(TorchShim shim, MemorySegment handle, TensorDesc desc) {
    this.shim = shim;
    this.handle = handle;
    this.desc = desc;
  }

  static TorchTensor adopt(TorchShim shim, MemorySegment handle) {
    try {
      return new TorchTensor(shim, handle, shim.describe(handle));
    } catch (RuntimeException e) {
      shim.freeTensor(handle); // never leak a tensor we could not describe
      throw e;
    }
  }

  /** Its memory, shape, dtype and device; valid until {@link #close()}. */
  public TensorDesc desc() {
    live();
    return desc;
  }

  /** The sizes of every dimension. */
  public long[] shape() {
    return desc.shape();
  }

  /** Its element type as the shim names it (may have no engine dtype: F16, I64). */
  public TorchDType torchDType() {
    return desc.dtype();
  }

  @Override
  public long address() {
    live();
    return desc.address();
  }

  @Override
  public int deviceIndex() {
    return desc.device();
  }

  @Override
  public int rows() {
    long[] s = desc.shape();
    return s.length == 0 ? 1 : Math.toIntExact(s[0]);
  }

  @Override
  public int cols() {
    long[] s = desc.shape();
    long n = 1;
    for (int i = 1; i < s.length; i++) {
      n *= s[i];
    }
    return Math.toIntExact(n);
  }

  /**
   * The engine dtype.
   *
   * @throws IllegalStateException for F16 and I64 tensors, which the engine has no dtype for
   */
  @Override
  public DType dtype() {
    DType d = desc.dtype().engine();
    if (d == null) {
      throw new IllegalStateException(desc.dtype() + " tensors have no engine dtype");
    }
    return d;
  }

  private void live() {
    if (handle == null) {
      throw new IllegalStateException("tensor is closed");
    }
  }

  @Override
  public synchronized void close() {
    MemorySegment h = handle;
    if (h != null) {
      handle = null;
      shim.freeTensor(h);
    }
  }

  @Override
  public String toString() {
    return "TorchTensor" + desc;
  }
}
