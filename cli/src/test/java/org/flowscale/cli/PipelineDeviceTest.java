package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Pipeline;
import org.flowscale.kernels.CudaParticleOpsProvider;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A pipeline's device is its own ({@code backend: cuda:N} per instance, no JVM-wide property): a
 * CPU and a CUDA pipeline side by side in one JVM give the same result, and a device the driver
 * does not have is a configuration error naming it. Runs on the emulated CUDA driver in {@code
 * bin/test} (or a GPU); skipped without a driver unless one was named with {@code
 * flowscale.cuda.driver}.
 */
class PipelineDeviceTest {
  private static final GenerationRequest REQUEST =
      GenerationRequest.builder()
          .prompt("two blue squares and one red circle")
          .method("smc")
          .chains(2)
          .steps(5)
          .maxNfe(10)
          .seed(7)
          .build();

  private static void needsCuda() {
    Optional<String> why = new CudaParticleOpsProvider().unavailableReason();
    if (why.isEmpty()) {
      return;
    }
    String message = "needs a CUDA device: " + why.get();
    if (System.getProperty("flowscale.cuda.driver") != null) {
      Assertions.fail(message + " (flowscale.cuda.driver was set)");
    }
    Assumptions.abort(message);
  }

  @Test
  void aCpuAndACudaPipelineRunSideBySideAndAgree() {
    needsCuda();
    try (Pipeline cpu = Pipeline.builder().model("toy").reward("counting").backend("cpu").build();
        Pipeline gpu =
            Pipeline.builder().model("toy").reward("counting").backend("cuda:0").build()) {
      GenerationResult a = cpu.generate(REQUEST);
      GenerationResult b = gpu.generate(REQUEST);
      assertEquals("cpu", a.backend());
      assertEquals("cuda", b.backend());
      assertEquals(a.nfe(), b.nfe());
      float[] x = a.sample().orElseThrow();
      float[] y = b.sample().orElseThrow();
      double num = 0;
      double den = 0;
      for (int i = 0; i < x.length; i++) {
        num += (x[i] - y[i]) * (double) (x[i] - y[i]);
        den += x[i] * (double) x[i];
      }
      double rel = Math.sqrt(num / Math.max(den, Double.MIN_NORMAL));
      assertTrue(rel < 1e-3, "||cuda - cpu|| / ||cpu|| = " + rel);
      assertEquals(a.reward(), b.reward(), 1e-3 * Math.max(1, Math.abs(a.reward())));
    }
  }

  @Test
  void aDeviceTheDriverDoesNotHaveIsAConfigurationError() {
    needsCuda();
    var e =
        assertThrows(
            ConfigurationException.class,
            () -> Pipeline.builder().model("toy").backend("cuda:4096").build());
    assertTrue(e.getMessage().contains("no CUDA device 4096"), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }
}
