package org.flowscale.engine.ops;

import java.util.Optional;

/**
 * A backend of {@link ParticleOps}, found with {@link java.util.ServiceLoader}. Lets algorithms ask
 * for a backend by name without depending on its implementation.
 */
public interface ParticleOpsProvider {
  /** The backend's name, as in configs: {@code cpu}, {@code cuda}. */
  String name();

  /** Empty when the backend can run here, else why not (e.g. "no CUDA driver: libcuda.so.1"). */
  Optional<String> unavailableReason();

  /** A new backend instance; throws with {@link #unavailableReason} when it cannot run. */
  ParticleOps create();

  /**
   * A new backend instance on device {@code device} (a CUDA ordinal); backends with one device
   * accept only 0.
   *
   * @throws IllegalArgumentException when there is no such device
   */
  default ParticleOps create(int device) {
    if (device != 0) {
      throw new IllegalArgumentException(
          "particle backend '" + name() + "' has one device, not device " + device);
    }
    return create();
  }
}
