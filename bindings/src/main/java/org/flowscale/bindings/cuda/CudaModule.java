package org.flowscale.bindings.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A loaded {@code CUmodule} (PTX JIT-compiled by the driver), owned; closing unloads it. */
public final class CudaModule implements AutoCloseable {
  private long handle;

  private CudaModule(long handle) {
    this.handle = handle;
  }

  /**
   * Loads PTX text (or a cubin image) into the current context.
   *
   * @throws CudaException if the driver rejects it; the message includes the JIT error log
   */
  public static CudaModule load(byte[] image) {
    if (image == null || image.length == 0) {
      throw new IllegalArgumentException("module image must not be empty");
    }
    try (Arena a = Arena.ofConfined()) {
      // The driver reads PTX up to a NUL; the extra byte is harmless for cubins.
      MemorySegment s = a.allocate(image.length + 1L);
      MemorySegment.copy(MemorySegment.ofArray(image), 0, s, 0, image.length);
      return new CudaModule(CudaDriver.cuModuleLoadDataEx(s));
    }
  }

  /** A kernel by its {@code .entry} name; the handle lives as long as the module. */
  public CudaFunction function(String name) {
    return new CudaFunction(CudaDriver.cuModuleGetFunction(handle(), name), name);
  }

  public long handle() {
    if (handle == 0) {
      throw new IllegalStateException("CUDA module has been unloaded");
    }
    return handle;
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      long h = handle;
      handle = 0;
      CudaDriver.cuModuleUnload(h);
    }
  }
}
