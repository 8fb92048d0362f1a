package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.bindings.cuda.CudaDriver;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOpsProvider;
import org.junit.jupiter.api.Test;

class CudaParticleOpsProviderTest {
  private static ParticleOpsProvider cuda() {
    return Backends.providers().stream()
        .filter(p -> p.name().equals("cuda"))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no 'cuda' provider registered as a service"));
  }

  @Test
  void isRegisteredBesideTheCpuBackend() {
    var names = Backends.providers().stream().map(ParticleOpsProvider::name).toList();
    assertTrue(names.contains("cpu") && names.contains("cuda"), names::toString);
  }

  @Test
  void saysWhatIsMissingWhenItCannotRun() {
    var why = cuda().unavailableReason();
    if (why.isEmpty()) {
      try (var ops = Backends.create("cuda")) {
        assertEquals("cuda", ops.name());
      }
      return;
    }
    String reason = why.get();
    assertFalse(reason.isBlank());
    if (CudaDriver.unavailableReason().isPresent()) {
      assertTrue(reason.contains("libcuda.so.1"), reason);
    }
    if (Ptx.missingReason().isPresent()) {
      assertTrue(reason.contains("PTX not built"), reason);
    }
    var e = assertThrows(IllegalStateException.class, () -> Backends.create("cuda"));
    assertTrue(e.getMessage().contains(reason), e.getMessage());
    var direct = assertThrows(IllegalStateException.class, () -> cuda().create());
    assertTrue(direct.getMessage().contains(reason), direct.getMessage());
  }

  @Test
  void badDeviceOrdinalIsNamed() {
    String old = System.getProperty(CudaParticleOpsProvider.DEVICE_PROPERTY);
    try {
      System.setProperty(CudaParticleOpsProvider.DEVICE_PROPERTY, "x");
      var e = assertThrows(IllegalArgumentException.class, CudaParticleOpsProvider::ordinal);
      assertTrue(e.getMessage().contains("'x'"));
    } finally {
      if (old == null) {
        System.clearProperty(CudaParticleOpsProvider.DEVICE_PROPERTY);
      } else {
        System.setProperty(CudaParticleOpsProvider.DEVICE_PROPERTY, old);
      }
    }
  }
}
