package org.flowscale.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.flowscale.bindings.cuda.CudaDevice;
import org.flowscale.bindings.cuda.CudaDriver;
import org.flowscale.bindings.cuda.CudaException;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.ParticleOpsProvider;

/**
 * Registers the CUDA backend ({@code cuda}). It runs where the kernels' PTX was built, {@code
 * libcuda.so.1} loads, and the device exists; otherwise {@link #unavailableReason()} lists what is
 * missing. The device is chosen per backend ({@code backend: cuda:1} in a config, {@link
 * #create(int)}); {@link #create()} takes the system property {@code flowscale.cuda.device}
 * (default 0).
 */
public final class CudaParticleOpsProvider implements ParticleOpsProvider {
  /** System property naming the device ordinal to use. */
  public static final String DEVICE_PROPERTY = "flowscale.cuda.device";

  private volatile Optional<String> reason;

  @Override
  public String name() {
    return "cuda";
  }

  @Override
  public Optional<String> unavailableReason() {
    Optional<String> r = reason;
    if (r == null) {
      r = probe();
      reason = r;
    }
    return r;
  }

  private static Optional<String> probe() {
    List<String> missing = new ArrayList<>();
    Ptx.missingReason().ifPresent(missing::add);
    Optional<String> driver = CudaDevice.unavailableReason();
    if (driver.isPresent()) {
      missing.add(driver.get());
    } else {
      try {
        int ordinal = ordinal();
        int count = CudaDriver.cuDeviceGetCount();
        if (ordinal >= count) {
          missing.add(
              "no CUDA device "
                  + ordinal
                  + " ("
                  + DEVICE_PROPERTY
                  + "): the driver sees "
                  + count
                  + " device(s)");
        }
      } catch (CudaException | IllegalArgumentException e) {
        missing.add(e.getMessage());
      }
    }
    return missing.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", missing));
  }

  static int ordinal() {
    String p = System.getProperty(DEVICE_PROPERTY, "0");
    try {
      int o = Integer.parseInt(p.trim());
      if (o < 0) {
        throw new NumberFormatException();
      }
      return o;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          DEVICE_PROPERTY + " must be a device ordinal (0, 1, ...), got '" + p + "'");
    }
  }

  @Override
  public ParticleOps create() {
    unavailableReason()
        .ifPresent(
            why -> {
              throw new IllegalStateException("the cuda backend cannot run here: " + why);
            });
    return new CudaParticleOps(ordinal());
  }

  @Override
  public ParticleOps create(int device) {
    if (device < 0) {
      throw new IllegalArgumentException("a CUDA device ordinal must be >= 0, got " + device);
    }
    unavailableReason()
        .ifPresent(
            why -> {
              throw new IllegalStateException("the cuda backend cannot run here: " + why);
            });
    int count = CudaDriver.cuDeviceGetCount();
    if (device >= count) {
      throw new IllegalArgumentException(
          "no CUDA device " + device + ": the driver sees " + count + " device(s)");
    }
    return new CudaParticleOps(device);
  }
}
