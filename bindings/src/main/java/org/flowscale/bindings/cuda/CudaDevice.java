package org.flowscale.bindings.cuda;

/**
 * What the driver says about one device.
 *
 * @param ordinal the device ordinal
 * @param name the device's name
 * @param computeMajor compute capability, major
 * @param computeMinor compute capability, minor
 * @param multiprocessors SM count
 * @param totalMemory bytes of device memory
 */
public record CudaDevice(
    int ordinal,
    String name,
    int computeMajor,
    int computeMinor,
    int multiprocessors,
    long totalMemory) {

  /** Queries device {@code ordinal} (initialises the driver). */
  public static CudaDevice query(int ordinal) {
    CudaDriver.cuInit(0);
    int d = CudaDriver.cuDeviceGet(ordinal);
    return new CudaDevice(
        ordinal,
        CudaDriver.cuDeviceGetName(d),
        CudaDriver.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d),
        CudaDriver.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d),
        CudaDriver.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d),
        CudaDriver.cuDeviceTotalMem(d));
  }

  /** Whether the driver can run anything: it loads, initialises, and sees at least one device. */
  public static java.util.Optional<String> unavailableReason() {
    var why = CudaDriver.unavailableReason();
    if (why.isPresent()) {
      return why;
    }
    try {
      CudaDriver.cuInit(0);
      int n = CudaDriver.cuDeviceGetCount();
      return n > 0
          ? java.util.Optional.empty()
          : java.util.Optional.of("no CUDA device: the driver sees 0 devices");
    } catch (CudaException e) {
      return java.util.Optional.of("the CUDA driver cannot start: " + e.getMessage());
    }
  }

  @Override
  public String toString() {
    return String.format(
        "%s (device %d, sm_%d%d, %d SMs, %.1f GiB)",
        name, ordinal, computeMajor, computeMinor, multiprocessors, totalMemory / 1073741824.0);
  }
}
