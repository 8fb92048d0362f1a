package org.flowscale.bindings.torch;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.flowscale.bindings.NativeLibrary;
import org.flowscale.bindings.NativeLibraryException;

/**
 * The flowscale libtorch shim ({@code native/include/flowscale_shim.h}) through FFM: one
 * hand-declared downcall per C function, as a binding generator would write them. Every failing
 * call becomes a {@link TorchException} carrying libtorch's message (read from the shim's
 * thread-local last error on the calling thread); no C++ exception reaches the JVM.
 *
 * <p>The library is looked up in this order: the system property {@value #PROPERTY}, the
 * environment variable {@value #ENV} (when either is set, only that path), else {@code
 * native/build/libflowscale_shim.so} relative to the working directory, its parents, and the
 * directory of the flowscale jar, then the dynamic loader's path. Thread-safe.
 */
public final class TorchShim {
  /** System property naming the shim library file. */
  public static final String PROPERTY = "flowscale.shim";

  /** Environment variable naming the shim library file. */
  public static final String ENV = "FLOWSCALE_SHIM";

  /** The ABI version this class is written against ({@code FS_ABI_VERSION}). */
  public static final int ABI_VERSION = 3;

  static final String LIBRARY_FILE = "libflowscale_shim.so";

  /** {@code fs_tensor_desc}: 96 bytes. */
  static final StructLayout DESC =
      MemoryLayout.structLayout(
          ADDRESS.withName("data"),
          MemoryLayout.sequenceLayout(TensorDesc.MAX_DIMS, JAVA_LONG).withName("shape"),
          JAVA_INT.withName("ndim"),
          JAVA_INT.withName("dtype"),
          JAVA_INT.withName("device"),
          JAVA_INT.withName("as_dtype"),
          JAVA_LONG.withName("reserved"));

  private static final long OFF_SHAPE =
      DESC.byteOffset(MemoryLayout.PathElement.groupElement("shape"));
  private static final long OFF_NDIM =
      DESC.byteOffset(MemoryLayout.PathElement.groupElement("ndim"));
  private static final long OFF_DTYPE =
      DESC.byteOffset(MemoryLayout.PathElement.groupElement("dtype"));
  private static final long OFF_DEVICE =
      DESC.byteOffset(MemoryLayout.PathElement.groupElement("device"));
  private static final long OFF_AS =
      DESC.byteOffset(MemoryLayout.PathElement.groupElement("as_dtype"));

  private final String location;
  private final Downcall abiVersion;
  private final Downcall shimVersion;
  private final Downcall torchVersion;
  private final Downcall builtWithCuda;
  private final Downcall lastError;
  private final Downcall cudaDeviceCount;
  private final Downcall cudaGetStream;
  private final Downcall cudaSetStream;
  private final Downcall cudaSynchronize;
  private final Downcall setAllowTf32;
  private final Downcall moduleLoad;
  private final Downcall moduleFree;
  private final Downcall moduleForward;
  private final Downcall moduleForwardOwned;
  private final Downcall moduleVjp;
  private final Downcall tensorEmpty;
  private final Downcall tensorFree;
  private final Downcall tensorDescribe;
  private final Downcall copy;
  private final Downcall dtypeSupported;
  private final Downcall moduleRunMethod;
  private final Downcall moduleHasMethod;
  private final Downcall moduleSlots;
  private final Downcall slotsCount;
  private final Downcall slotsGet;
  private final Downcall slotsFree;
  private final Downcall moduleSetTensor;
  private final Downcall moduleSetInts;
  private final Downcall moduleGetInts;
  private final Downcall moduleTo;
  private final Downcall moduleSetOptimize;
  private final Downcall moduleSetInputMap;
  private final boolean cuda;

  private TorchShim(NativeLibrary lib, String location) {
    this.location = location;
    // Check the ABI before binding anything else: an old shim may lack or differ in symbols.
    if (!lib.has("fs_abi_version")) {
      throw new NativeLibraryException(
          location + " is not a flowscale shim (no fs_abi_version symbol)");
    }
    abiVersion = new Downcall(lib, "fs_abi_version", FunctionDescriptor.of(JAVA_INT));
    int abi = (int) invoke(abiVersion);
    if (abi != ABI_VERSION) {
      throw new NativeLibraryException(
          "incompatible flowscale shim at "
              + location
              + ": ABI version "
              + abi
              + ", this build needs "
              + ABI_VERSION
              + "; rebuild it (cmake -S native -B native/build && cmake --build native/build)");
    }
    shimVersion = new Downcall(lib, "fs_shim_version", FunctionDescriptor.of(ADDRESS));
    torchVersion = new Downcall(lib, "fs_torch_version", FunctionDescriptor.of(ADDRESS));
    builtWithCuda = new Downcall(lib, "fs_built_with_cuda", FunctionDescriptor.of(JAVA_INT));
    lastError = new Downcall(lib, "fs_last_error", FunctionDescriptor.of(ADDRESS));
    cudaDeviceCount = new Downcall(lib, "fs_cuda_device_count", FunctionDescriptor.of(JAVA_INT));
    cudaGetStream =
        new Downcall(lib, "fs_cuda_get_stream", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    cudaSetStream =
        new Downcall(lib, "fs_cuda_set_stream", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    cudaSynchronize =
        new Downcall(lib, "fs_cuda_synchronize", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    setAllowTf32 =
        new Downcall(lib, "fs_set_allow_tf32", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    moduleLoad =
        new Downcall(
            lib, "fs_module_load", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    moduleFree = new Downcall(lib, "fs_module_free", FunctionDescriptor.ofVoid(ADDRESS));
    moduleForward =
        new Downcall(
            lib,
            "fs_module_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    moduleForwardOwned =
        new Downcall(
            lib,
            "fs_module_forward_owned",
            FunctionDescriptor.of(
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    moduleVjp =
        new Downcall(
            lib,
            "fs_module_vjp",
            FunctionDescriptor.of(
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    tensorEmpty =
        new Downcall(lib, "fs_tensor_empty", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    tensorFree = new Downcall(lib, "fs_tensor_free", FunctionDescriptor.ofVoid(ADDRESS));
    tensorDescribe =
        new Downcall(lib, "fs_tensor_describe", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    copy = new Downcall(lib, "fs_copy", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    dtypeSupported =
        new Downcall(lib, "fs_dtype_supported", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    moduleRunMethod =
        new Downcall(
            lib,
            "fs_module_run_method",
            FunctionDescriptor.of(
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    moduleHasMethod =
        new Downcall(
            lib, "fs_module_has_method", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    moduleSlots =
        new Downcall(lib, "fs_module_slots", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    slotsCount = new Downcall(lib, "fs_slots_count", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    slotsGet =
        new Downcall(
            lib,
            "fs_slots_get",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    slotsFree = new Downcall(lib, "fs_slots_free", FunctionDescriptor.ofVoid(ADDRESS));
    moduleSetTensor =
        new Downcall(
            lib,
            "fs_module_set_tensor",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT));
    moduleSetInts =
        new Downcall(
            lib,
            "fs_module_set_ints",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
    moduleGetInts =
        new Downcall(
            lib,
            "fs_module_get_ints",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
    moduleTo =
        new Downcall(
            lib, "fs_module_to", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    moduleSetOptimize =
        new Downcall(
            lib, "fs_module_set_optimize", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    moduleSetInputMap =
        new Downcall(
            lib,
            "fs_module_set_input_map",
            FunctionDescriptor.of(
                JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_DOUBLE, JAVA_DOUBLE));
    cuda = (int) invoke(builtWithCuda) != 0;
  }

  /**
   * The shim of this process, loaded on first use from the configured or default location.
   *
   * @throws NativeLibraryException saying which paths were tried and why each failed, or that the
   *     library found is incompatible
   */
  public static TorchShim get() {
    return PROCESS.get();
  }

  /**
   * Starts loading the shim (and with it libtorch, about a second of dynamic loading on a cold
   * start) on a background thread and returns at once, so that a caller that knows it will need the
   * shim soon can overlap the load with other start-up work. Idempotent and thread-safe: at most
   * one background load is started per process, none once the shim is loaded. It never throws and
   * reports nothing: a load that fails in the background is tried again by the next {@link #get()},
   * which then throws exactly what it would have thrown without the preload. A {@link #get()} that
   * comes while the background load runs waits for it and returns its result.
   */
  public static void preload() {
    PROCESS.preload();
  }

  /**
   * One C function of the shim: its symbol is checked when the shim loads (an old shim that lacks
   * it is refused then, as before), its downcall handle is made on first use. Linking a handle
   * spins method-handle classes, tens of milliseconds each on a cold start in the interpreter, and
   * most runs call a third of the shim's functions.
   */
  static final class Downcall {
    private final NativeLibrary lib;
    private final String name;
    private final FunctionDescriptor descriptor;
    private volatile MethodHandle handle;

    Downcall(NativeLibrary lib, String name, FunctionDescriptor descriptor) {
      lib.require(name);
      this.lib = lib;
      this.name = name;
      this.descriptor = descriptor;
    }

    /** The handle, linked on first use (two threads may both link it: either result is fine). */
    MethodHandle get() {
      MethodHandle h = handle;
      if (h == null) {
        h = lib.function(name, descriptor);
        handle = h;
      }
      return h;
    }

    /** Whether the handle was linked (for tests). */
    boolean linked() {
      return handle != null;
    }
  }

  /** The downcall of the shim function {@code symbol} (for tests). */
  Downcall downcall(String symbol) {
    for (Downcall d :
        List.of(
            abiVersion,
            moduleLoad,
            moduleForward,
            moduleForwardOwned,
            moduleVjp,
            tensorEmpty,
            tensorFree,
            tensorDescribe,
            copy)) {
      if (d.name.equals(symbol)) {
        return d;
      }
    }
    throw new IllegalArgumentException(symbol);
  }

  /** The process's shim. */
  private static final Slot PROCESS = new Slot(TorchShim::candidates);

  /**
   * One lazily loaded shim: {@link #get()} loads it once (under the slot's lock, so concurrent
   * callers and a background preload share one load), and remembers it; a failed load is not
   * remembered, so every call reports it the same way.
   */
  static final class Slot {
    private final java.util.function.Supplier<List<String>> candidates;
    private final java.util.concurrent.atomic.AtomicBoolean preloadStarted =
        new java.util.concurrent.atomic.AtomicBoolean();
    private volatile TorchShim instance;

    Slot(java.util.function.Supplier<List<String>> candidates) {
      this.candidates = candidates;
    }

    TorchShim get() {
      TorchShim s = instance;
      if (s == null) {
        synchronized (this) {
          s = instance;
          if (s == null) {
            s = loadLibrary(candidates.get());
            instance = s;
          }
        }
      }
      return s;
    }

    /** Starts the background load unless one was started or the shim is loaded; null then. */
    Thread preload() {
      if (instance != null || !preloadStarted.compareAndSet(false, true)) {
        return null;
      }
      Thread t =
          Thread.ofPlatform()
              .name("flowscale-shim-preload")
              .daemon()
              .unstarted(
                  () -> {
                    try {
                      get();
                    } catch (Throwable e) {
                      // get() on the caller's thread tries again and reports it.
                    }
                  });
      t.start();
      return t;
    }
  }

  /** The paths {@link #get()} tries, in order. */
  public static List<String> candidates() {
    String configured = System.getProperty(PROPERTY);
    String source = "system property " + PROPERTY;
    if (configured == null || configured.isBlank()) {
      configured = System.getenv(ENV);
      source = "environment variable " + ENV;
    }
    if (configured != null && !configured.isBlank()) {
      return List.of(Path.of(configured).toAbsolutePath().normalize() + " (from " + source + ")");
    }
    return defaultCandidates();
  }

  /** Where the shim is looked for when neither the property nor the variable names it. */
  static List<String> defaultCandidates() {
    Set<String> out = new LinkedHashSet<>();
    Path rel = Path.of("native", "build", LIBRARY_FILE);
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      out.add(dir.resolve(rel).toString());
    }
    try {
      var code = TorchShim.class.getProtectionDomain().getCodeSource();
      if (code != null) {
        for (Path dir = Path.of(code.getLocation().toURI()).getParent();
            dir != null;
            dir = dir.getParent()) {
          out.add(dir.resolve(rel).toString());
        }
      }
    } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
      // No usable code location (e.g. a custom class loader): the other candidates remain.
    }
    out.add(LIBRARY_FILE);
    return new ArrayList<>(out);
  }

  /** Loads the first candidate that exists; one that exists but fails to load is an error. */
  static TorchShim loadLibrary(List<String> candidates) {
    StringBuilder tried = new StringBuilder();
    for (String entry : candidates) {
      int note = entry.indexOf(" (from ");
      String c = note < 0 ? entry : entry.substring(0, note);
      boolean isPath = c.contains("/");
      if (isPath && !Files.isRegularFile(Path.of(c))) {
        tried.append("\n  ").append(entry).append(": no such file");
        continue;
      }
      if (isPath) {
        try {
          // System.load reports the dynamic loader's reason (e.g. a missing libtorch), which
          // SymbolLookup does not; the lookup below then reuses the loaded library.
          System.load(c);
        } catch (UnsatisfiedLinkError e) {
          throw new NativeLibraryException(
              "cannot load the flowscale shim "
                  + entry
                  + ": "
                  + e.getMessage()
                  + "\n(is libtorch installed where the shim was built against? rebuild with"
                  + " cmake -S native -B native/build && cmake --build native/build)");
        }
      }
      NativeLibrary lib;
      try {
        lib = NativeLibrary.load("flowscale shim", List.of(c));
      } catch (NativeLibraryException e) {
        tried.append("\n  ").append(entry).append(": ").append(e.getMessage());
        continue;
      }
      return new TorchShim(lib, c);
    }
    throw new NativeLibraryException(
        "cannot find the flowscale libtorch shim ("
            + LIBRARY_FILE
            + "); build it with `cmake -S native -B native/build && cmake --build native/build`"
            + " (or run bin/test) and/or point -D"
            + PROPERTY
            + "= or "
            + ENV
            + " at it; tried:"
            + tried);
  }

  /** Where the library was loaded from. */
  public String location() {
    return location;
  }

  /** The shim's ABI version. */
  public int abiVersion() {
    return (int) invoke(abiVersion);
  }

  /** The shim's own version. */
  public String shimVersion() {
    return string((MemorySegment) invoke(shimVersion));
  }

  /** The libtorch version the shim was built against. */
  public String torchVersion() {
    return string((MemorySegment) invoke(torchVersion));
  }

  /** Whether the shim has its CUDA stream functions. */
  public boolean builtWithCuda() {
    return cuda;
  }

  /** CUDA devices libtorch sees (0 without CUDA). */
  public int cudaDeviceCount() {
    return (int) invoke(cudaDeviceCount);
  }

  /** libtorch's current CUDA stream ({@code cudaStream_t}) of {@code device} for this thread. */
  public long cudaStream(int device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check((int) invoke(cudaGetStream, device, out));
      return out.get(ADDRESS, 0).address();
    }
  }

  /**
   * Makes {@code stream} (a {@code cudaStream_t} on {@code device}; 0 for the default stream)
   * libtorch's current stream of {@code device} for the calling thread, so that libtorch's work
   * queues behind the caller's kernels on that stream and before the ones that follow.
   */
  public void setCudaStream(int device, long stream) {
    int status;
    try {
      status = (int) cudaSetStream.get().invokeExact(device, MemorySegment.ofAddress(stream));
    } catch (Throwable t) {
      throw rethrow(t);
    }
    check(status);
  }

  /** Waits for libtorch's current stream of {@code device} (this thread). */
  public void cudaSynchronize(int device) {
    int status;
    try {
      status = (int) cudaSynchronize.get().invokeExact(device);
    } catch (Throwable t) {
      throw rethrow(t);
    }
    check(status);
  }

  /**
   * Whether float32 convolutions and matrix products on CUDA may use TF32 tensor cores
   * (process-wide). libtorch allows it for convolutions by default, which costs float32 accuracy
   * (about 1e-3 relative); off gives IEEE float32 results.
   */
  public void setAllowTf32(boolean allow) {
    check((int) invoke(setAllowTf32, allow ? 1 : 0));
  }

  /**
   * Waits for libtorch's current stream of {@code device} when the shim has CUDA; without it no
   * libtorch work can be pending on a device (device memory could only come from elsewhere).
   */
  void cudaSynchronizeIfAvailable(int device) {
    if (builtWithCuda()) {
      cudaSynchronize(device);
    }
  }

  /** Whether this libtorch has {@code dtype} (FP8 needs libtorch 2.1 or newer). */
  public boolean dtypeSupported(TorchDType dtype) {
    return (int) invoke(dtypeSupported, dtype.code()) != 0;
  }

  /**
   * Loads a TorchScript module onto the host ({@code device} -1) or a CUDA device.
   *
   * @throws TorchException with libtorch's message (missing file, not a TorchScript archive, ...)
   */
  public TorchModule load(Path path, int device) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      String p = path.toAbsolutePath().toString();
      check((int) invoke(moduleLoad, arena.allocateFrom(p), device, out));
      return new TorchModule(this, out.get(ADDRESS, 0), path, device);
    }
  }

  /** A new uninitialised tensor owned by libtorch (e.g. CUDA memory for zero-copy tests). */
  public TorchTensor empty(TorchDType dtype, int device, long... shape) {
    if (shape.length > TensorDesc.MAX_DIMS) {
      throw new IllegalArgumentException("at most " + TensorDesc.MAX_DIMS + " dimensions");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment desc = arena.allocate(DESC);
      write(desc, 0, shape, dtype, device, null); // fs_tensor_empty ignores the data pointer
      MemorySegment out = arena.allocate(ADDRESS);
      check((int) invoke(tensorEmpty, desc, out));
      return TorchTensor.adopt(this, out.get(ADDRESS, 0));
    }
  }

  /** Copies {@code src} into {@code dst}: same element count, dtype converted, any devices. */
  public void copy(TensorDesc src, TensorDesc dst) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = descs(arena, List.of(src));
      MemorySegment d = descs(arena, List.of(dst));
      int status;
      try {
        status = (int) copy.get().invokeExact(s, d);
      } catch (Throwable t) {
        throw rethrow(t);
      }
      check(status);
    }
  }

  // ---- used by TorchModule and TorchTensor ----

  /**
   * Per-thread descriptor memory for the hot calls: a forward of a small model is tens of
   * microseconds, so an arena per call (allocation, zeroing, freeing) is a visible share of it.
   * Calls do not re-enter on one thread, so one buffer per thread suffices.
   */
  private static final ThreadLocal<MemorySegment[]> SCRATCH =
      ThreadLocal.withInitial(() -> new MemorySegment[1]);

  private static MemorySegment scratch(int descs) {
    MemorySegment[] holder = SCRATCH.get();
    MemorySegment s = holder[0];
    if (s == null || s.byteSize() < descs * DESC.byteSize()) {
      s = Arena.ofAuto().allocate(DESC, Math.max(16, descs));
      holder[0] = s;
    }
    return s;
  }

  void forward(MemorySegment module, List<TensorDesc> inputs, List<TensorDesc> outputs) {
    int n = inputs.size();
    int m = outputs.size();
    MemorySegment s = scratch(n + m);
    for (int i = 0; i < n; i++) {
      write(s, i, inputs.get(i));
    }
    for (int i = 0; i < m; i++) {
      write(s, n + i, outputs.get(i));
    }
    int status;
    try {
      status =
          (int) moduleForward.get().invokeExact(module, s, n, s.asSlice(n * DESC.byteSize()), m);
    } catch (Throwable t) {
      throw rethrow(t);
    }
    check(status);
  }

  void runMethod(
      MemorySegment module, String method, List<TensorDesc> inputs, List<TensorDesc> outputs) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment in = descs(arena, inputs);
      MemorySegment out = descs(arena, outputs);
      check(
          (int)
              invoke(
                  moduleRunMethod,
                  module,
                  arena.allocateFrom(method),
                  in,
                  inputs.size(),
                  out,
                  outputs.size()));
    }
  }

  boolean hasMethod(MemorySegment module, String method) {
    try (Arena arena = Arena.ofConfined()) {
      return (int) invoke(moduleHasMethod, module, arena.allocateFrom(method)) != 0;
    }
  }

  List<TorchModule.Slot> slots(MemorySegment module) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      check((int) invoke(moduleSlots, module, out));
      MemorySegment list = out.get(ADDRESS, 0);
      try {
        int n = (int) invoke(slotsCount, list);
        List<TorchModule.Slot> result = new ArrayList<>(n);
        MemorySegment name = arena.allocate(ADDRESS);
        MemorySegment buffer = arena.allocate(JAVA_INT);
        MemorySegment d = arena.allocate(DESC);
        for (int i = 0; i < n; i++) {
          check((int) invoke(slotsGet, list, i, name, buffer, d));
          int ndim = d.get(JAVA_INT, OFF_NDIM);
          long[] shape = new long[ndim];
          for (int k = 0; k < ndim; k++) {
            shape[k] = d.get(JAVA_LONG, OFF_SHAPE + 8L * k);
          }
          int code = d.get(JAVA_INT, OFF_DTYPE);
          result.add(
              new TorchModule.Slot(
                  string(name.get(ADDRESS, 0)),
                  buffer.get(JAVA_INT, 0) != 0,
                  shape,
                  code < 0 ? null : TorchDType.ofCode(code),
                  d.get(JAVA_INT, OFF_DEVICE)));
        }
        return result;
      } finally {
        invoke(slotsFree, list);
      }
    }
  }

  void setTensor(MemorySegment module, String name, TensorDesc src, TorchDType dtype, int device) {
    try (Arena arena = Arena.ofConfined()) {
      check(
          (int)
              invoke(
                  moduleSetTensor,
                  module,
                  arena.allocateFrom(name),
                  descs(arena, List.of(src)),
                  dtype == null ? -1 : dtype.code(),
                  device));
    }
  }

  void setInts(MemorySegment module, String name, long[] values) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment v = arena.allocate(JAVA_LONG, Math.max(1, values.length));
      MemorySegment.copy(values, 0, v, JAVA_LONG, 0, values.length);
      check((int) invoke(moduleSetInts, module, arena.allocateFrom(name), v, values.length));
    }
  }

  long[] ints(MemorySegment module, String name) {
    try (Arena arena = Arena.ofConfined()) {
      int cap = 64;
      while (true) {
        MemorySegment v = arena.allocate(JAVA_LONG, cap);
        MemorySegment n = arena.allocate(JAVA_INT);
        check((int) invoke(moduleGetInts, module, arena.allocateFrom(name), v, cap, n));
        int count = n.get(JAVA_INT, 0);
        if (count <= cap) {
          return v.asSlice(0, 8L * count).toArray(JAVA_LONG);
        }
        cap = count;
      }
    }
  }

  void setOptimize(MemorySegment module, boolean enabled) {
    check((int) invoke(moduleSetOptimize, module, enabled ? 1 : 0));
  }

  void setInputMap(MemorySegment module, int input, long[] perm, double scale, double shift) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment p = perm.length == 0 ? MemorySegment.NULL : arena.allocateFrom(JAVA_LONG, perm);
      check((int) invoke(moduleSetInputMap, module, input, p, perm.length, scale, shift));
    }
  }

  void moduleTo(MemorySegment module, int device, TorchDType dtype) {
    check((int) invoke(moduleTo, module, device, dtype == null ? -1 : dtype.code()));
  }

  private static void write(MemorySegment array, int index, TensorDesc t) {
    write(
        array.asSlice(index * DESC.byteSize(), DESC.byteSize()),
        t.address(),
        t.sizes(),
        t.dtype(),
        t.device(),
        t.asDtype());
  }

  List<TorchTensor> forwardOwned(MemorySegment module, List<TensorDesc> inputs, int maxOutputs) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment outs = arena.allocate(ADDRESS, Math.max(1, maxOutputs));
      MemorySegment n = arena.allocate(JAVA_INT);
      MemorySegment in = descs(arena, inputs);
      int status;
      try {
        status =
            (int)
                moduleForwardOwned
                    .get()
                    .invokeExact(module, in, inputs.size(), outs, maxOutputs, n);
      } catch (Throwable t) {
        throw rethrow(t);
      }
      check(status);
      List<TorchTensor> result = new ArrayList<>();
      int count = n.get(JAVA_INT, 0);
      for (int i = 0; i < count; i++) {
        result.add(TorchTensor.adopt(this, outs.getAtIndex(ADDRESS, i)));
      }
      return result;
    }
  }

  void vjp(
      MemorySegment module,
      List<TensorDesc> inputs,
      int wrt,
      TensorDesc cotangent,
      TensorDesc outValue,
      TensorDesc outGrad) {
    int n = inputs.size();
    MemorySegment s = scratch(n + 3);
    for (int i = 0; i < n; i++) {
      write(s, i, inputs.get(i));
    }
    write(s, n, outGrad);
    MemorySegment grad = s.asSlice(n * DESC.byteSize(), DESC.byteSize());
    MemorySegment cot = MemorySegment.NULL;
    if (cotangent != null) {
      write(s, n + 1, cotangent);
      cot = s.asSlice((n + 1) * DESC.byteSize(), DESC.byteSize());
    }
    MemorySegment val = MemorySegment.NULL;
    if (outValue != null) {
      write(s, n + 2, outValue);
      val = s.asSlice((n + 2) * DESC.byteSize(), DESC.byteSize());
    }
    int status;
    try {
      status = (int) moduleVjp.get().invokeExact(module, s, n, wrt, cot, val, grad);
    } catch (Throwable t) {
      throw rethrow(t);
    }
    check(status);
  }

  void freeModule(MemorySegment module) {
    invoke(moduleFree, module);
  }

  void freeTensor(MemorySegment tensor) {
    try {
      tensorFree.get().invokeExact(tensor);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  TensorDesc describe(MemorySegment tensor) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment d = arena.allocate(DESC);
      int status;
      try {
        status = (int) tensorDescribe.get().invokeExact(tensor, d);
      } catch (Throwable t) {
        throw rethrow(t);
      }
      check(status);
      int ndim = d.get(JAVA_INT, OFF_NDIM);
      long[] shape = new long[ndim];
      for (int i = 0; i < ndim; i++) {
        shape[i] = d.get(JAVA_LONG, OFF_SHAPE + 8L * i);
      }
      long address = d.get(ADDRESS, 0).address();
      return new TensorDesc(
          address,
          shape,
          TorchDType.ofCode(d.get(JAVA_INT, OFF_DTYPE)),
          d.get(JAVA_INT, OFF_DEVICE));
    }
  }

  /** Writes descriptors as a C array of {@code fs_tensor_desc}. */
  static MemorySegment descs(SegmentAllocator arena, List<TensorDesc> list) {
    MemorySegment a = arena.allocate(DESC, Math.max(1, list.size()));
    for (int i = 0; i < list.size(); i++) {
      TensorDesc t = list.get(i);
      write(
          a.asSlice(i * DESC.byteSize(), DESC.byteSize()),
          t.address(),
          t.sizes(),
          t.dtype(),
          t.device(),
          t.asDtype());
    }
    return a;
  }

  private static void write(
      MemorySegment d, long address, long[] shape, TorchDType dtype, int device, TorchDType as) {
    d.set(ADDRESS, 0, MemorySegment.ofAddress(address));
    for (int k = 0; k < shape.length; k++) {
      d.set(JAVA_LONG, OFF_SHAPE + 8L * k, shape[k]);
    }
    d.set(JAVA_INT, OFF_NDIM, shape.length);
    d.set(JAVA_INT, OFF_DTYPE, dtype.code());
    d.set(JAVA_INT, OFF_DEVICE, device);
    d.set(JAVA_INT, OFF_AS, as == null ? -1 : as.code());
  }

  private void check(int status) {
    if (status != 0) {
      String message = string((MemorySegment) invoke(lastError));
      throw new TorchException(message.isEmpty() ? "libtorch call failed (no message)" : message);
    }
  }

  private static String string(MemorySegment cString) {
    return cString.reinterpret(Long.MAX_VALUE).getString(0);
  }

  private static Object invoke(Downcall h, Object... args) {
    try {
      return h.get().invokeWithArguments(args);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("native call failed", t);
  }

  @Override
  public String toString() {
    return "flowscale shim " + shimVersion() + " (libtorch " + torchVersion() + ") at " + location;
  }
}
