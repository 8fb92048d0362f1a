package org.flowscale.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Optional;

/** The PTX that the build compiled from {@code src/main/cuda}, packed as class-path resources. */
public final class Ptx {
  private Ptx() {}

  /** The particle-operation kernels. */
  public static final String PARTICLE_OPS = "org/flowscale/kernels/particle_ops.ptx";

  /** Why the kernels cannot be loaded, or empty when the PTX resource is there. */
  public static Optional<String> missingReason() {
    if (Ptx.class.getClassLoader().getResource(PARTICLE_OPS) != null) {
      return Optional.empty();
    }
    return Optional.of(
        "PTX not built: "
            + PARTICLE_OPS
            + " is not on the class path (nvcc was not found when flowscale-kernels was built;"
            + " install the CUDA toolkit and rebuild)");
  }

  /** The PTX text of {@code resource}. */
  public static byte[] read(String resource) {
    try (InputStream in = Ptx.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(missingReason().orElse(resource + " is missing"));
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }
}
