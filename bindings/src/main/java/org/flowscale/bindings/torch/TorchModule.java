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
  private volatile int device;
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

  /**
   * A parameter or buffer of the module, by its dotted name as PyTorch's {@code state_dict()}
   * spells it.
   *
   * @param dtype its element type, or null when the shim has no code for it
   * @param device -1 for the host, else the CUDA ordinal
   */
  public record Slot(String name, boolean buffer, long[] shape, TorchDType dtype, int device) {
    public Slot {
      shape = shape.clone();
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }
  }

  /** -1 for the host, else the CUDA ordinal (changes with {@link #to}). */
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

  /**
   * Like {@link #forward(List, List)} for another method of the module (one marked {@code
   * @torch.jit.export}, or a scripted submodule's entry point such as a VAE's {@code decode}).
   *
   * @throws TorchException naming the method when the module has none of that name
   */
  public void run(String method, List<TensorDesc> inputs, List<TensorDesc> outputs) {
    shim.runMethod(live(), method, inputs, outputs);
  }

  /** Whether the module has a method of that name. */
  public boolean hasMethod(String method) {
    return shim.hasMethod(live(), method);
  }

  /** Every parameter and buffer, recursively, in registration order (parameters first). */
  public List<Slot> slots() {
    return shim.slots(live());
  }

  /**
   * Replaces the parameter or buffer {@code name} with a copy of {@code src} (read during the call
   * only), converted to {@code dtype} (null: keep src's) on {@code device} (-1 host). The shape may
   * differ from the old one's: architecture files are scripted at a tiny width and get their real
   * shapes here. See {@link TorchWeights} for loading a whole checkpoint this way.
   *
   * @throws TorchException naming {@code name} when it is not a parameter or buffer
   */
  public void setTensor(String name, TensorDesc src, TorchDType dtype, int device) {
    shim.setTensor(live(), name, src, dtype, device);
  }

  /**
   * Sets an {@code int} attribute (one value) or a {@code List[int]} attribute of the scripted
   * module (dotted name), e.g. the head count an architecture file cannot read off its weights.
   *
   * @throws TorchException when there is no such attribute of that type (or it is {@code Final})
   */
  public void setInts(String name, long... values) {
    shim.setInts(live(), name, values);
  }

  /** The value(s) of an {@code int} or {@code List[int]} attribute (dotted name). */
  public long[] ints(String name) {
    return shim.ints(live(), name);
  }

  /**
   * Whether TorchScript's graph optimizer works on this module's calls (on by default, as in
   * libtorch): profiling runs, specialisation to each new input shape, fusion. Off runs the graph
   * op by op as eager PyTorch does, with no warm-up of seconds per new shape, which a large model
   * called with varying batch sizes prefers.
   */
  public void setOptimize(boolean enabled) {
    shim.setOptimize(live(), enabled);
  }

  /**
   * Maps input {@code input} before every call of this module (forward, other methods, {@link
   * #vjp}): the module receives {@code x.permute(perm) * scale + shift} of the caller's {@code x},
   * computed by libtorch where {@code x} is (no host round trip). {@code perm} keeps axis 0 first;
   * empty keeps the axes. Gradients by {@link #vjp} are with respect to the caller's {@code x}: in
   * its layout, times {@code scale}. Replaces an earlier map of that input.
   *
   * @throws TorchException when perm is not a permutation that keeps the batch axis first
   */
  public void setInputMap(int input, long[] perm, double scale, double shift) {
    shim.setInputMap(live(), input, perm, scale, shift);
  }

  /**
   * Moves every parameter and buffer to {@code device} (-1 host) and converts the floating-point
   * ones to {@code dtype} (null: keep); later calls run there.
   */
  public void to(int device, TorchDType dtype) {
    shim.moduleTo(live(), device, dtype);
    this.device = device < 0 ? -1 : device;
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
