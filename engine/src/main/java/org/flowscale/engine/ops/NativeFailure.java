package org.flowscale.engine.ops;

/**
 * Marks an exception that came from native code (libtorch, the CUDA driver, a kernel), so callers
 * that only see the engine's interfaces can tell a native failure from a bug or bad input, and
 * whether the device is still usable.
 */
public interface NativeFailure {
  /**
   * Whether the failure may have lost the device context (a sticky CUDA error such as an illegal
   * address): nothing on that device can be trusted afterwards, and the backend and models using it
   * must be rebuilt.
   */
  default boolean contextLost() {
    return false;
  }
}
