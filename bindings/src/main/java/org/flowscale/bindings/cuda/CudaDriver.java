package org.flowscale.bindings.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.flowscale.bindings.NativeLibrary;
import org.flowscale.bindings.NativeLibraryException;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through FFM downcalls, declared by hand in the shape
 * jextract generates: one {@link FunctionDescriptor} and one static {@link MethodHandle} per C
 * function, named after the exported symbol, plus a typed static wrapper per function that checks
 * the {@code CUresult} and turns a failure into a {@link CudaException}.
 *
 * <p>Handles ({@code CUcontext}, {@code CUstream}, {@code CUevent}, {@code CUmodule}, {@code
 * CUfunction}, {@code CUgraph}, {@code CUgraphExec}) are passed around as raw {@code long}
 * addresses; {@code CUdeviceptr} is a {@code long}; {@code CUdevice} an {@code int}. The owning
 * wrappers ({@link DeviceBuffer}, {@link CudaStream}, ...) are the intended API; these functions
 * are the thin layer below them.
 *
 * <p>The library is loaded on first use. On a machine without a driver every wrapper throws a
 * {@link NativeLibraryException} saying so; {@link #unavailableReason()} tells without throwing.
 */
public final class CudaDriver {
  private CudaDriver() {}

  /** The driver library's soname. */
  public static final String LIBRARY = "libcuda.so.1";

  // ---- constants from cuda.h (the values are ABI, stable across driver versions) ----

  public static final int CUDA_SUCCESS = 0;
  public static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
  public static final int CUDA_ERROR_NOT_READY = 600;
  public static final int CU_STREAM_DEFAULT = 0x0;
  public static final int CU_STREAM_NON_BLOCKING = 0x1;
  public static final int CU_EVENT_DEFAULT = 0x0;
  public static final int CU_EVENT_DISABLE_TIMING = 0x2;
  public static final int CU_MEMHOSTALLOC_PORTABLE = 0x01;
  public static final int CU_MEMHOSTALLOC_DEVICEMAP = 0x02;
  public static final int CU_STREAM_CAPTURE_MODE_GLOBAL = 0;
  public static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
  public static final int CU_STREAM_CAPTURE_MODE_RELAXED = 2;
  public static final int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
  public static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
  public static final int CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING = 41;
  public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
  public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
  public static final int CU_JIT_ERROR_LOG_BUFFER = 5;
  public static final int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

  /** Bytes of JIT error log kept when a module fails to load. */
  static final int JIT_LOG_BYTES = 16 * 1024;

  // ---- function descriptors, one per symbol ----

  public static final FunctionDescriptor cuInit$DESC = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
  public static final FunctionDescriptor cuDriverGetVersion$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuDeviceGet$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
  public static final FunctionDescriptor cuDeviceGetCount$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuDeviceGetName$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
  public static final FunctionDescriptor cuDeviceGetAttribute$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT);
  public static final FunctionDescriptor cuDeviceTotalMem_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
  public static final FunctionDescriptor cuDevicePrimaryCtxRetain$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
  public static final FunctionDescriptor cuDevicePrimaryCtxRelease_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_INT);
  public static final FunctionDescriptor cuCtxSetCurrent$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuCtxGetCurrent$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuCtxSynchronize$DESC = FunctionDescriptor.of(JAVA_INT);
  public static final FunctionDescriptor cuMemAlloc_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
  public static final FunctionDescriptor cuMemFree_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
  public static final FunctionDescriptor cuMemcpyHtoD_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG);
  public static final FunctionDescriptor cuMemcpyDtoH_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG);
  public static final FunctionDescriptor cuMemcpyDtoD_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG);
  public static final FunctionDescriptor cuMemcpyHtoDAsync_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
  public static final FunctionDescriptor cuMemcpyDtoHAsync_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
  public static final FunctionDescriptor cuMemcpyDtoDAsync_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
  public static final FunctionDescriptor cuMemsetD32Async$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS);
  public static final FunctionDescriptor cuMemsetD16Async$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_SHORT, JAVA_LONG, ADDRESS);
  public static final FunctionDescriptor cuMemHostAlloc$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
  public static final FunctionDescriptor cuMemFreeHost$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuStreamCreate$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
  public static final FunctionDescriptor cuStreamDestroy_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuStreamSynchronize$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuEventCreate$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
  public static final FunctionDescriptor cuEventRecord$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuEventSynchronize$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuEventQuery$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuEventElapsedTime$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuEventDestroy_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuModuleLoadDataEx$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuModuleUnload$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuModuleGetFunction$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuLaunchKernel$DESC =
      FunctionDescriptor.of(
          JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
          ADDRESS, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuStreamBeginCapture_v2$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
  public static final FunctionDescriptor cuStreamEndCapture$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuGraphInstantiateWithFlags$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
  public static final FunctionDescriptor cuGraphLaunch$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
  public static final FunctionDescriptor cuGraphExecDestroy$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuGraphDestroy$DESC =
      FunctionDescriptor.of(JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuGetErrorName$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);
  public static final FunctionDescriptor cuGetErrorString$DESC =
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS);

  /** Every symbol this class binds; all must be present for the driver to count as usable. */
  static final List<String> SYMBOLS =
      List.of(
          "cuInit",
          "cuDriverGetVersion",
          "cuDeviceGet",
          "cuDeviceGetCount",
          "cuDeviceGetName",
          "cuDeviceGetAttribute",
          "cuDeviceTotalMem_v2",
          "cuDevicePrimaryCtxRetain",
          "cuDevicePrimaryCtxRelease_v2",
          "cuCtxSetCurrent",
          "cuCtxGetCurrent",
          "cuCtxSynchronize",
          "cuMemAlloc_v2",
          "cuMemFree_v2",
          "cuMemcpyHtoD_v2",
          "cuMemcpyDtoH_v2",
          "cuMemcpyDtoD_v2",
          "cuMemcpyHtoDAsync_v2",
          "cuMemcpyDtoHAsync_v2",
          "cuMemcpyDtoDAsync_v2",
          "cuMemsetD32Async",
          "cuMemsetD16Async",
          "cuMemHostAlloc",
          "cuMemFreeHost",
          "cuStreamCreate",
          "cuStreamDestroy_v2",
          "cuStreamSynchronize",
          "cuEventCreate",
          "cuEventRecord",
          "cuEventSynchronize",
          "cuEventQuery",
          "cuEventDestroy_v2",
          "cuModuleLoadDataEx",
          "cuModuleUnload",
          "cuModuleGetFunction",
          "cuLaunchKernel",
          "cuStreamBeginCapture_v2",
          "cuStreamEndCapture",
          "cuGraphInstantiateWithFlags",
          "cuGraphLaunch",
          "cuGraphExecDestroy",
          "cuGraphDestroy",
          "cuGetErrorName",
          "cuGetErrorString");

  /** Loads the library once; remembers why it could not be, so the message is stable. */
  private static final class Loaded {
    static final NativeLibrary LIB;
    static final String FAILURE;
    static final String ELAPSED_TIME;

    static {
      NativeLibrary lib = null;
      String failure = null;
      String elapsed = null;
      try {
        lib = NativeLibrary.load("the CUDA driver " + LIBRARY, candidates());
        List<String> missing = new ArrayList<>();
        for (String s : SYMBOLS) {
          if (!lib.has(s)) {
            missing.add(s);
          }
        }
        // CUDA 12.8 renamed the entry point; older drivers only have the first version.
        elapsed = lib.has("cuEventElapsedTime_v2") ? "cuEventElapsedTime_v2" : "cuEventElapsedTime";
        if (!lib.has(elapsed)) {
          missing.add(elapsed);
        }
        if (!missing.isEmpty()) {
          failure =
              lib
                  + " lacks "
                  + String.join(", ", missing)
                  + ": the driver is too old (flowscale needs a CUDA 12 or newer driver)";
          lib = null;
        }
      } catch (NativeLibraryException e) {
        failure =
            e.getMessage()
                + "\n(libcuda.so.1 comes with the NVIDIA driver: is there a GPU and its driver here?)";
      }
      LIB = lib;
      FAILURE = failure;
      ELAPSED_TIME = elapsed;
    }

    private static List<String> candidates() {
      List<String> c = new ArrayList<>();
      String override = System.getProperty("flowscale.cuda.driver");
      if (override != null) {
        c.add(override);
      }
      c.add(LIBRARY);
      c.add("/usr/lib/x86_64-linux-gnu/libcuda.so.1");
      c.add("/usr/lib64/libcuda.so.1");
      c.add("/usr/local/nvidia/lib64/libcuda.so.1");
      return c;
    }
  }

  /** Empty when {@code libcuda.so.1} is loaded with every symbol bound, else why not. */
  public static Optional<String> unavailableReason() {
    return Optional.ofNullable(Loaded.FAILURE);
  }

  private static NativeLibrary lib() {
    NativeLibrary l = Loaded.LIB;
    if (l == null) {
      throw new NativeLibraryException(Loaded.FAILURE);
    }
    return l;
  }

  /**
   * The method handles, one per symbol, created when first touched. Every wrapper calls {@link
   * #lib()} before touching this class, so its initialisation cannot fail for want of a driver.
   */
  private static final class H {
    static final MethodHandle cuInit = bind("cuInit", cuInit$DESC);
    static final MethodHandle cuDriverGetVersion =
        bind("cuDriverGetVersion", cuDriverGetVersion$DESC);
    static final MethodHandle cuDeviceGet = bind("cuDeviceGet", cuDeviceGet$DESC);
    static final MethodHandle cuDeviceGetCount = bind("cuDeviceGetCount", cuDeviceGetCount$DESC);
    static final MethodHandle cuDeviceGetName = bind("cuDeviceGetName", cuDeviceGetName$DESC);
    static final MethodHandle cuDeviceGetAttribute =
        bind("cuDeviceGetAttribute", cuDeviceGetAttribute$DESC);
    static final MethodHandle cuDeviceTotalMem_v2 =
        bind("cuDeviceTotalMem_v2", cuDeviceTotalMem_v2$DESC);
    static final MethodHandle cuDevicePrimaryCtxRetain =
        bind("cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain$DESC);
    static final MethodHandle cuDevicePrimaryCtxRelease_v2 =
        bind("cuDevicePrimaryCtxRelease_v2", cuDevicePrimaryCtxRelease_v2$DESC);
    static final MethodHandle cuCtxSetCurrent = bind("cuCtxSetCurrent", cuCtxSetCurrent$DESC);
    static final MethodHandle cuCtxGetCurrent = bind("cuCtxGetCurrent", cuCtxGetCurrent$DESC);
    static final MethodHandle cuCtxSynchronize = bind("cuCtxSynchronize", cuCtxSynchronize$DESC);
    static final MethodHandle cuMemAlloc_v2 = bind("cuMemAlloc_v2", cuMemAlloc_v2$DESC);
    static final MethodHandle cuMemFree_v2 = bind("cuMemFree_v2", cuMemFree_v2$DESC);
    static final MethodHandle cuMemcpyHtoD_v2 = bind("cuMemcpyHtoD_v2", cuMemcpyHtoD_v2$DESC);
    static final MethodHandle cuMemcpyDtoH_v2 = bind("cuMemcpyDtoH_v2", cuMemcpyDtoH_v2$DESC);
    static final MethodHandle cuMemcpyDtoD_v2 = bind("cuMemcpyDtoD_v2", cuMemcpyDtoD_v2$DESC);
    static final MethodHandle cuMemcpyHtoDAsync_v2 =
        bind("cuMemcpyHtoDAsync_v2", cuMemcpyHtoDAsync_v2$DESC);
    static final MethodHandle cuMemcpyDtoHAsync_v2 =
        bind("cuMemcpyDtoHAsync_v2", cuMemcpyDtoHAsync_v2$DESC);
    static final MethodHandle cuMemcpyDtoDAsync_v2 =
        bind("cuMemcpyDtoDAsync_v2", cuMemcpyDtoDAsync_v2$DESC);
    static final MethodHandle cuMemsetD32Async = bind("cuMemsetD32Async", cuMemsetD32Async$DESC);
    static final MethodHandle cuMemsetD16Async = bind("cuMemsetD16Async", cuMemsetD16Async$DESC);
    static final MethodHandle cuMemHostAlloc = bind("cuMemHostAlloc", cuMemHostAlloc$DESC);
    static final MethodHandle cuMemFreeHost = bind("cuMemFreeHost", cuMemFreeHost$DESC);
    static final MethodHandle cuStreamCreate = bind("cuStreamCreate", cuStreamCreate$DESC);
    static final MethodHandle cuStreamDestroy_v2 =
        bind("cuStreamDestroy_v2", cuStreamDestroy_v2$DESC);
    static final MethodHandle cuStreamSynchronize =
        bind("cuStreamSynchronize", cuStreamSynchronize$DESC);
    static final MethodHandle cuEventCreate = bind("cuEventCreate", cuEventCreate$DESC);
    static final MethodHandle cuEventRecord = bind("cuEventRecord", cuEventRecord$DESC);
    static final MethodHandle cuEventSynchronize =
        bind("cuEventSynchronize", cuEventSynchronize$DESC);
    static final MethodHandle cuEventQuery = bind("cuEventQuery", cuEventQuery$DESC);
    static final MethodHandle cuEventElapsedTime =
        bind(Loaded.ELAPSED_TIME, cuEventElapsedTime$DESC);
    static final MethodHandle cuEventDestroy_v2 = bind("cuEventDestroy_v2", cuEventDestroy_v2$DESC);
    static final MethodHandle cuModuleLoadDataEx =
        bind("cuModuleLoadDataEx", cuModuleLoadDataEx$DESC);
    static final MethodHandle cuModuleUnload = bind("cuModuleUnload", cuModuleUnload$DESC);
    static final MethodHandle cuModuleGetFunction =
        bind("cuModuleGetFunction", cuModuleGetFunction$DESC);
    static final MethodHandle cuLaunchKernel = bind("cuLaunchKernel", cuLaunchKernel$DESC);
    static final MethodHandle cuStreamBeginCapture_v2 =
        bind("cuStreamBeginCapture_v2", cuStreamBeginCapture_v2$DESC);
    static final MethodHandle cuStreamEndCapture =
        bind("cuStreamEndCapture", cuStreamEndCapture$DESC);
    static final MethodHandle cuGraphInstantiateWithFlags =
        bind("cuGraphInstantiateWithFlags", cuGraphInstantiateWithFlags$DESC);
    static final MethodHandle cuGraphLaunch = bind("cuGraphLaunch", cuGraphLaunch$DESC);
    static final MethodHandle cuGraphExecDestroy =
        bind("cuGraphExecDestroy", cuGraphExecDestroy$DESC);
    static final MethodHandle cuGraphDestroy = bind("cuGraphDestroy", cuGraphDestroy$DESC);
    static final MethodHandle cuGetErrorName = bind("cuGetErrorName", cuGetErrorName$DESC);
    static final MethodHandle cuGetErrorString = bind("cuGetErrorString", cuGetErrorString$DESC);

    private static MethodHandle bind(String name, FunctionDescriptor d) {
      return lib().function(name, d);
    }
  }

  // ---- error checking ----

  /** Throws a {@link CudaException} for a failing {@code result} of {@code function}. */
  public static void check(String function, int result) {
    if (result != CUDA_SUCCESS) {
      throw new CudaException(function, result, errorName(result), errorString(result));
    }
  }

  /** The driver's name for a {@code CUresult}, or {@code CUDA_ERROR_<code>} when it has none. */
  public static String errorName(int result) {
    return describe(H_ERR_NAME, result, "CUDA_ERROR_" + result);
  }

  /** The driver's description of a {@code CUresult}. */
  public static String errorString(int result) {
    return describe(H_ERR_STRING, result, "unknown CUDA error " + result);
  }

  private static final int H_ERR_NAME = 0;
  private static final int H_ERR_STRING = 1;

  private static String describe(int which, int result, String fallback) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment p = a.allocate(ADDRESS);
      int r =
          which == H_ERR_NAME
              ? (int) H.cuGetErrorName.invokeExact(result, p)
              : (int) H.cuGetErrorString.invokeExact(result, p);
      MemorySegment s = p.get(ADDRESS, 0);
      if (r != CUDA_SUCCESS || s.equals(MemorySegment.NULL)) {
        return fallback;
      }
      return s.reinterpret(4096).getString(0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("unexpected checked exception from a downcall", t);
  }

  private static MemorySegment ptr(long handle) {
    return MemorySegment.ofAddress(handle);
  }

  // ---- initialisation and devices ----

  /** {@code cuInit(flags)}; flags must be 0. */
  public static void cuInit(int flags) {
    lib();
    try {
      check("cuInit", (int) H.cuInit.invokeExact(flags));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The driver's CUDA version, e.g. 13000 for 13.0. */
  public static int cuDriverGetVersion() {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check("cuDriverGetVersion", (int) H.cuDriverGetVersion.invokeExact(out));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The {@code CUdevice} of an ordinal. */
  public static int cuDeviceGet(int ordinal) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check("cuDeviceGet", (int) H.cuDeviceGet.invokeExact(out, ordinal));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The number of CUDA devices. */
  public static int cuDeviceGetCount() {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check("cuDeviceGetCount", (int) H.cuDeviceGetCount.invokeExact(out));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The device's marketing name. */
  public static String cuDeviceGetName(int device) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(256);
      check("cuDeviceGetName", (int) H.cuDeviceGetName.invokeExact(out, 256, device));
      return out.getString(0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** A {@code CU_DEVICE_ATTRIBUTE_*} value. */
  public static int cuDeviceGetAttribute(int attribute, int device) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_INT);
      check(
          "cuDeviceGetAttribute", (int) H.cuDeviceGetAttribute.invokeExact(out, attribute, device));
      return out.get(JAVA_INT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The device's memory in bytes. */
  public static long cuDeviceTotalMem(int device) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_LONG);
      check("cuDeviceTotalMem_v2", (int) H.cuDeviceTotalMem_v2.invokeExact(out, device));
      return out.get(JAVA_LONG, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ---- contexts ----

  /** Retains the device's primary context (the one the runtime API and libtorch use). */
  public static long cuDevicePrimaryCtxRetain(int device) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check("cuDevicePrimaryCtxRetain", (int) H.cuDevicePrimaryCtxRetain.invokeExact(out, device));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Releases one retain of the device's primary context. */
  public static void cuDevicePrimaryCtxRelease(int device) {
    lib();
    try {
      check(
          "cuDevicePrimaryCtxRelease_v2", (int) H.cuDevicePrimaryCtxRelease_v2.invokeExact(device));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Binds a context to the calling thread. */
  public static void cuCtxSetCurrent(long context) {
    lib();
    try {
      check("cuCtxSetCurrent", (int) H.cuCtxSetCurrent.invokeExact(ptr(context)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** The calling thread's context, 0 when none. */
  public static long cuCtxGetCurrent() {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check("cuCtxGetCurrent", (int) H.cuCtxGetCurrent.invokeExact(out));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Waits for all work of the current context. */
  public static void cuCtxSynchronize() {
    lib();
    try {
      check("cuCtxSynchronize", (int) H.cuCtxSynchronize.invokeExact());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ---- memory ----

  /** Allocates device memory (256-byte aligned) in the current context. */
  public static long cuMemAlloc(long bytes) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_LONG);
      check("cuMemAlloc_v2", (int) H.cuMemAlloc_v2.invokeExact(out, bytes));
      return out.get(JAVA_LONG, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemFree(long devicePtr) {
    lib();
    try {
      check("cuMemFree_v2", (int) H.cuMemFree_v2.invokeExact(devicePtr));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemcpyHtoD(long dst, MemorySegment src, long bytes) {
    lib();
    try {
      check("cuMemcpyHtoD_v2", (int) H.cuMemcpyHtoD_v2.invokeExact(dst, src, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemcpyDtoH(MemorySegment dst, long src, long bytes) {
    lib();
    try {
      check("cuMemcpyDtoH_v2", (int) H.cuMemcpyDtoH_v2.invokeExact(dst, src, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemcpyDtoD(long dst, long src, long bytes) {
    lib();
    try {
      check("cuMemcpyDtoD_v2", (int) H.cuMemcpyDtoD_v2.invokeExact(dst, src, bytes));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) {
    lib();
    try {
      check(
          "cuMemcpyHtoDAsync_v2",
          (int) H.cuMemcpyHtoDAsync_v2.invokeExact(dst, src, bytes, ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) {
    lib();
    try {
      check(
          "cuMemcpyDtoHAsync_v2",
          (int) H.cuMemcpyDtoHAsync_v2.invokeExact(dst, src, bytes, ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemcpyDtoDAsync(long dst, long src, long bytes, long stream) {
    lib();
    try {
      check(
          "cuMemcpyDtoDAsync_v2",
          (int) H.cuMemcpyDtoDAsync_v2.invokeExact(dst, src, bytes, ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Fills {@code count} 32-bit words with {@code value}, asynchronously. */
  public static void cuMemsetD32Async(long dst, int value, long count, long stream) {
    lib();
    try {
      check(
          "cuMemsetD32Async", (int) H.cuMemsetD32Async.invokeExact(dst, value, count, ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Fills {@code count} 16-bit words with the low half of {@code value}, asynchronously. */
  public static void cuMemsetD16Async(long dst, int value, long count, long stream) {
    lib();
    try {
      check(
          "cuMemsetD16Async",
          (int) H.cuMemsetD16Async.invokeExact(dst, (short) value, count, ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Page-locked host memory; its address is also valid on devices (unified addressing). */
  public static long cuMemHostAlloc(long bytes, int flags) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check("cuMemHostAlloc", (int) H.cuMemHostAlloc.invokeExact(out, bytes, flags));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuMemFreeHost(long hostPtr) {
    lib();
    try {
      check("cuMemFreeHost", (int) H.cuMemFreeHost.invokeExact(ptr(hostPtr)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ---- streams and events ----

  public static long cuStreamCreate(int flags) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check("cuStreamCreate", (int) H.cuStreamCreate.invokeExact(out, flags));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuStreamDestroy(long stream) {
    lib();
    try {
      check("cuStreamDestroy_v2", (int) H.cuStreamDestroy_v2.invokeExact(ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuStreamSynchronize(long stream) {
    lib();
    try {
      check("cuStreamSynchronize", (int) H.cuStreamSynchronize.invokeExact(ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static long cuEventCreate(int flags) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check("cuEventCreate", (int) H.cuEventCreate.invokeExact(out, flags));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuEventRecord(long event, long stream) {
    lib();
    try {
      check("cuEventRecord", (int) H.cuEventRecord.invokeExact(ptr(event), ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuEventSynchronize(long event) {
    lib();
    try {
      check("cuEventSynchronize", (int) H.cuEventSynchronize.invokeExact(ptr(event)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Whether the work before the event's last record has completed (true also for an event never
   * recorded); does not wait.
   */
  public static boolean cuEventQuery(long event) {
    lib();
    try {
      int r = (int) H.cuEventQuery.invokeExact(ptr(event));
      if (r == CUDA_ERROR_NOT_READY) {
        return false;
      }
      check("cuEventQuery", r);
      return true;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Milliseconds between two recorded, completed events. */
  public static float cuEventElapsedTime(long start, long end) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(JAVA_FLOAT);
      check(Loaded.ELAPSED_TIME, (int) H.cuEventElapsedTime.invokeExact(out, ptr(start), ptr(end)));
      return out.get(JAVA_FLOAT, 0);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuEventDestroy(long event) {
    lib();
    try {
      check("cuEventDestroy_v2", (int) H.cuEventDestroy_v2.invokeExact(ptr(event)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ---- modules and launches ----

  /**
   * Loads a module from a NUL-terminated PTX (or cubin) image; PTX is JIT-compiled. On failure the
   * exception carries the JIT's error log, which says why (e.g. a PTX {@code .version} newer than
   * the driver supports, or a {@code .target} above the device's).
   */
  public static long cuModuleLoadDataEx(MemorySegment image) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      MemorySegment log = a.allocate(JIT_LOG_BYTES);
      MemorySegment options = a.allocate(JAVA_INT, 2);
      options.setAtIndex(JAVA_INT, 0, CU_JIT_ERROR_LOG_BUFFER);
      options.setAtIndex(JAVA_INT, 1, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
      // Option values are passed in pointer-sized slots; a size is the slot's value itself, and
      // the driver writes back how much of the log it filled.
      MemorySegment values = a.allocate(ADDRESS, 2);
      values.setAtIndex(ADDRESS, 0, log);
      values.setAtIndex(JAVA_LONG, 1, JIT_LOG_BYTES);
      int r = (int) H.cuModuleLoadDataEx.invokeExact(out, image, 2, options, values);
      if (r != CUDA_SUCCESS) {
        long filled = Math.min(values.getAtIndex(JAVA_LONG, 1), JIT_LOG_BYTES);
        String text = filled > 0 ? log.getString(0).strip() : "";
        throw new CudaException(
            "cuModuleLoadDataEx",
            r,
            errorName(r),
            errorString(r),
            text.isEmpty() ? "the JIT error log is empty" : "JIT error log: " + text);
      }
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuModuleUnload(long module) {
    lib();
    try {
      check("cuModuleUnload", (int) H.cuModuleUnload.invokeExact(ptr(module)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** A kernel of a loaded module, by its {@code .entry} name. */
  public static long cuModuleGetFunction(long module, String name) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      MemorySegment cname = a.allocateFrom(name);
      int r = (int) H.cuModuleGetFunction.invokeExact(out, ptr(module), cname);
      if (r != CUDA_SUCCESS) {
        throw new CudaException(
            "cuModuleGetFunction(" + name + ")", r, errorName(r), errorString(r));
      }
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Launches a kernel; {@code params} points to an array of pointers, one per kernel parameter (see
   * {@link KernelArgs}). The driver copies the values before returning.
   */
  public static void cuLaunchKernel(
      long function,
      int gridX,
      int gridY,
      int gridZ,
      int blockX,
      int blockY,
      int blockZ,
      int sharedMemBytes,
      long stream,
      MemorySegment params) {
    lib();
    try {
      check(
          "cuLaunchKernel",
          (int)
              H.cuLaunchKernel.invokeExact(
                  ptr(function),
                  gridX,
                  gridY,
                  gridZ,
                  blockX,
                  blockY,
                  blockZ,
                  sharedMemBytes,
                  ptr(stream),
                  params,
                  MemorySegment.NULL));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  // ---- graphs ----

  public static void cuStreamBeginCapture(long stream, int mode) {
    lib();
    try {
      check(
          "cuStreamBeginCapture_v2",
          (int) H.cuStreamBeginCapture_v2.invokeExact(ptr(stream), mode));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Ends a capture and returns the captured {@code CUgraph}. */
  public static long cuStreamEndCapture(long stream) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check("cuStreamEndCapture", (int) H.cuStreamEndCapture.invokeExact(ptr(stream), out));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static long cuGraphInstantiateWithFlags(long graph, long flags) {
    lib();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ADDRESS);
      check(
          "cuGraphInstantiateWithFlags",
          (int) H.cuGraphInstantiateWithFlags.invokeExact(out, ptr(graph), flags));
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuGraphLaunch(long graphExec, long stream) {
    lib();
    try {
      check("cuGraphLaunch", (int) H.cuGraphLaunch.invokeExact(ptr(graphExec), ptr(stream)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuGraphExecDestroy(long graphExec) {
    lib();
    try {
      check("cuGraphExecDestroy", (int) H.cuGraphExecDestroy.invokeExact(ptr(graphExec)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  public static void cuGraphDestroy(long graph) {
    lib();
    try {
      check("cuGraphDestroy", (int) H.cuGraphDestroy.invokeExact(ptr(graph)));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}
