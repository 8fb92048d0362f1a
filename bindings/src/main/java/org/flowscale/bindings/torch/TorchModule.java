package org.flowscale.bindings.torch;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * A TorchScript module loaded by libtorch onto the host or a CUDA device; owns the native module
 * until {@link #close()}. Calls take caller-owned memory as {@link TensorDesc}s (no copies when the
 * memory is on the module's device). Calls from several threads are allowed (libtorch's modules are
 * safe for concurrent forward calls); {@link #close()} must not race with them.
 */
public final class TorchModule implements AutoCloseable {
  private final TorchShim shim;
  private final Path path;
  private final int device;
  private volatile MemorySegment handle;

  TorchModule(TorchShim shim, MemorySegment handle, Path path, int device) {
    this.shim = shim;
    this.handle = handle;
    this.path = path;
    this.device = device;
  }

  /** The file it was loaded from. */
  public Path path() {
    return path;
  }

  /** -1 for the host, else the CUDA ordinal. */
  public int device() {
    return device;
  }

  /**
   * Runs {@code forward(inputs...)} without autograd and writes its tensor result (or each tensor
   * of a tuple result) into {@code outputs}; each result must have its output's element count and
   * leading dimension, and is converted to its dtype.
   *
   * @throws TorchException with libtorch's message (wrong shapes or dtypes, script errors, ...)
   */
  public void forward(List<TensorDesc> inputs, List<TensorDesc> outputs) {
    shim.forward(live(), inputs, outputs);
  }

  /** Runs {@code forward(inputs...)} and returns its tensor result(s), owned by the caller. */
  public List<TorchTensor> forward(List<TensorDesc> inputs) {
    return shim.forwardOwned(live(), inputs, 16);
  }

  /**
   * A vector-Jacobian product: with {@code y = forward(inputs...)}, writes {@code d<y, w>/d
   * inputs[wrt]} into {@code outGrad}, where {@code w} is {@code cotangent}, or all ones when it is
   * null (then {@code y} must hold one value per sample: the per-sample gradient of a reward).
   * Writes {@code y} into {@code outValue} unless it is null.
   */
  public void vjp(
      List<TensorDesc> inputs,
      int wrt,
      TensorDesc cotangent,
      TensorDesc outValue,
      TensorDesc outGrad) {
    shim.vjp(live(), inputs, wrt, cotangent, outValue, outGrad);
  }

  private MemorySegment live() {
    MemorySegment h = handle;
    if (h == null) {
      throw new IllegalStateException("TorchScript module " + path + " is closed");
    }
    return h;
  }

  @Override
  public synchronized void close() {
    MemorySegment h = handle;
    if (h != null) {
      handle = null;
      shim.freeModule(h);
    }
  }

  @Override
  public String toString() {
    return "TorchModule[" + path + (device < 0 ? " on host" : " on cuda:" + device) + "]";
  }
}
