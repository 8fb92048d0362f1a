package org.flowscale.bindings.torch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.SafeDType;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.bindings.weights.WeightsException;

/**
 * Loads a checkpoint's tensors into a TorchScript architecture file by name: the way flowscale runs
 * published models (FLUX, T5, CLIP, the VAE) without Python at run time. The architecture is a
 * module scripted once at a tiny width with the checkpoint's parameter names; its forward code
 * reads every size from its weights (and a few int attributes, set with {@link
 * TorchModule#setInts}), so replacing each parameter with the real tensor makes it the real model.
 *
 * <p>{@link #load} first {@link #check checks} every name and shape of the checkpoint against the
 * module, before anything is copied: names the module has and the checkpoint lacks (missing),
 * checkpoint names the module does not have (unexpected), tensors whose shape differs from what the
 * caller expects (mis-shaped), and dtypes that cannot be loaded (integer data for a floating
 * parameter, FP8 on a libtorch without it, unsigned types libtorch lacks). All of them are reported
 * at once in one line. Then it streams tensor by tensor in file order: each is converted to the
 * target dtype (floating-point tensors only) and placed on the target device by the shim, so peak
 * host memory stays one tensor above the model (for a device target, the model is never on the
 * host). Finally every slot the checkpoint did not provide is moved and cast the same way, so the
 * whole module lives on one device in one floating type.
 *
 * <p>Example (FLUX: strip an optional prefix; schnell has no {@code guidance_in}):
 *
 * <pre>{@code
 * var options = TorchWeights.options()
 *     .rename(n -> n.startsWith("model.diffusion_model.") ? n.substring(22) : n)
 *     .optional(n -> n.startsWith("guidance_in."))
 *     .expectShapes(architecture::shapeOf)
 *     .dtype(TorchDType.BF16)
 *     .device(0);
 * TorchWeights.load(module, checkpoint, options, "FLUX.1 transformer");
 * }</pre>
 */
public final class TorchWeights {
  private TorchWeights() {}

  /** How many names of each kind a report lists before it says "and N more". */
  static final int LISTED = 4;

  /** New options: names as they are, every slot required, shapes as the module's, dtypes kept. */
  public static Options options() {
    return new Options();
  }

  /** What to load and where; a small mutable builder. */
  public static final class Options {
    private Function<String, String> rename = Function.identity();
    private Predicate<String> optional = n -> false;
    private Function<String, long[]> expectShapes;
    private TorchDType dtype;
    private int device = -1;

    private Options() {}

    /**
     * Maps a checkpoint name to the module's name; returning null ignores that tensor (it is then
     * neither loaded nor reported as unexpected). Default: the identity.
     */
    public Options rename(Function<String, String> rename) {
      this.rename = Objects.requireNonNull(rename);
      return this;
    }

    /**
     * Module slots the checkpoint need not provide (left as scripted, then moved and cast), e.g.
     * FLUX.1-dev's {@code guidance_in} when loading schnell.
     */
    public Options optional(Predicate<String> optional) {
      this.optional = Objects.requireNonNull(optional);
      return this;
    }

    /**
     * The shape each module slot must have, by module name (null for "as the module has it"): for
     * an architecture scripted at a tiny width, the model's rule for its real sizes. Default: the
     * module's own shapes (for modules scripted at full size).
     */
    public Options expectShapes(Function<String, long[]> expectShapes) {
      this.expectShapes = expectShapes;
      return this;
    }

    /** The floating-point type of the loaded module (null: keep each tensor's). */
    public Options dtype(TorchDType dtype) {
      if (dtype != null && !dtype.floating()) {
        throw new IllegalArgumentException("dtype must be a floating-point type, got " + dtype);
      }
      this.dtype = dtype;
      return this;
    }

    /** Where the loaded module lives: -1 host (default), else the CUDA ordinal. */
    public Options device(int device) {
      if (device < -1) {
        throw new IllegalArgumentException("device must be -1 or a CUDA ordinal, got " + device);
      }
      this.device = device;
      return this;
    }
  }

  /** What {@link #load} did. */
  public record Loaded(int tensors, long bytes, int leftAsScripted) {}

  /**
   * Checks every name, shape and dtype; returns the module name of each checkpoint tensor that will
   * be loaded, in checkpoint order.
   *
   * @param what the model's name for messages, e.g. {@code "FLUX.1 transformer"}
   * @throws WeightsException listing everything that does not fit, in one line
   */
  public static Map<String, String> check(
      TorchModule module, Checkpoint checkpoint, Options o, String what) {
    TorchShim shim = TorchShim.get();
    Map<String, TorchModule.Slot> slots = new LinkedHashMap<>();
    for (TorchModule.Slot s : module.slots()) {
      slots.put(s.name(), s);
    }
    Map<String, String> plan = new LinkedHashMap<>(); // checkpoint name -> module name
    Map<String, String> byModule = new LinkedHashMap<>();
    List<String> unexpected = new ArrayList<>();
    List<String> misShaped = new ArrayList<>();
    List<String> badType = new ArrayList<>();
    for (Map.Entry<String, TensorInfo> e : checkpoint.infos().entrySet()) {
      String cn = e.getKey();
      TensorInfo info = e.getValue();
      String mn = o.rename.apply(cn);
      if (mn == null) {
        continue;
      }
      TorchModule.Slot slot = slots.get(mn);
      if (slot == null) {
        unexpected.add(cn);
        continue;
      }
      String twice = byModule.put(mn, cn);
      if (twice != null) {
        throw new WeightsException(
            checkpoint.source()
                + ": tensors '"
                + twice
                + "' and '"
                + cn
                + "' both load into '"
                + mn
                + "'");
      }
      plan.put(cn, mn);
      long[] expected = o.expectShapes == null ? null : o.expectShapes.apply(mn);
      if (expected == null) {
        expected = slot.shape();
      }
      if (!Arrays.equals(expected, info.shape())) {
        misShaped.add(cn + " is " + info.shapeText() + ", expected " + Arrays.toString(expected));
      }
      String typeProblem = typeProblem(shim, info.dtype(), slot);
      if (typeProblem != null) {
        badType.add(cn + " " + typeProblem);
      }
    }
    List<String> missing = new ArrayList<>();
    for (String mn : slots.keySet()) {
      if (!byModule.containsKey(mn) && !o.optional.test(mn)) {
        missing.add(mn);
      }
    }
    if (missing.isEmpty() && unexpected.isEmpty() && misShaped.isEmpty() && badType.isEmpty()) {
      return plan;
    }
    List<String> parts = new ArrayList<>();
    if (!missing.isEmpty()) {
      parts.add(missing.size() + " missing (" + list(missing) + ")");
    }
    if (!unexpected.isEmpty()) {
      parts.add(unexpected.size() + " unexpected (" + list(unexpected) + ")");
    }
    if (!misShaped.isEmpty()) {
      parts.add(misShaped.size() + " mis-shaped (" + list(misShaped) + ")");
    }
    if (!badType.isEmpty()) {
      parts.add(badType.size() + " of an unusable dtype (" + list(badType) + ")");
    }
    throw new WeightsException(
        checkpoint.source() + " does not fit the " + what + ": " + String.join("; ", parts));
  }

  private static String typeProblem(TorchShim shim, SafeDType d, TorchModule.Slot slot) {
    TorchDType t = TorchDType.of(d);
    if (t == null) {
      return "is " + d + ", which libtorch cannot hold";
    }
    if (!shim.dtypeSupported(t)) {
      return "is "
          + d
          + ", which libtorch "
          + shim.torchVersion()
          + " cannot read (FP8 needs libtorch 2.1 or newer; or convert the checkpoint to BF16)";
    }
    boolean slotFloating = slot.dtype() == null || slot.dtype().floating();
    if (slotFloating != d.floating()) {
      return "is "
          + d
          + ", but the module holds "
          + (slot.dtype() == null ? "a floating-point tensor" : slot.dtype())
          + " there";
    }
    return null;
  }

  private static String list(List<String> names) {
    if (names.size() <= LISTED) {
      return String.join(", ", names);
    }
    return String.join(", ", names.subList(0, LISTED))
        + ", and "
        + (names.size() - LISTED)
        + " more";
  }

  /**
   * {@link #check Checks}, then loads every tensor into {@code module} and moves and casts the
   * rest. Nothing is copied when the check fails. A failure while copying (out of device memory)
   * leaves the module partly loaded: close it.
   *
   * @param what the model's name for messages
   * @throws WeightsException when the checkpoint does not fit
   * @throws TorchException when libtorch fails while copying (e.g. out of memory)
   */
  public static Loaded load(TorchModule module, Checkpoint checkpoint, Options o, String what) {
    Map<String, String> plan = check(module, checkpoint, o, what);
    long bytes = 0;
    for (Map.Entry<String, String> e : plan.entrySet()) {
      TensorInfo info = checkpoint.info(e.getKey());
      MemorySegment data = checkpoint.data(e.getKey());
      TorchDType src = TorchDType.of(info.dtype());
      TorchDType target = o.dtype != null && src.floating() ? o.dtype : null;
      int align = Math.max(1, src.bytes());
      if (data.address() % align == 0 || data.byteSize() == 0) {
        module.setTensor(e.getValue(), desc(data, info, src), target, o.device);
      } else {
        // The format does not promise alignment; libtorch's kernels may assume it.
        try (Arena a = Arena.ofConfined()) {
          MemorySegment copy = a.allocate(data.byteSize(), 64);
          copy.copyFrom(data);
          module.setTensor(e.getValue(), desc(copy, info, src), target, o.device);
        }
      }
      bytes += data.byteSize();
    }
    module.to(o.device, o.dtype);
    return new Loaded(plan.size(), bytes, module.slots().size() - plan.size());
  }

  private static TensorDesc desc(MemorySegment data, TensorInfo info, TorchDType dtype) {
    long address = data.byteSize() == 0 ? 0 : data.address();
    return new TensorDesc(address, info.shape(), dtype, -1);
  }
}
