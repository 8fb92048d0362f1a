package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The affine and gather kernels, compiled by g++ with CUDA's built-ins emulated and run block by
 * block on the host with CudaParticleOps' launch shapes (src/test/cuda/emulate_kernels.cpp): checks
 * their indexing, vector and tail paths and bf16 packing bit for bit without a GPU. Skipped
 * (visibly) without g++.
 */
class KernelEmulationTest {
  private static String gxx() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "g++"))) {
        return Path.of(dir, "g++").toString();
      }
    }
    return null;
  }

  @Test
  void elementwiseKernelsMatchTheScalarDefinitionOnTheHost() throws Exception {
    String gxx = gxx();
    assumeTrue(gxx != null, "no g++ here: the kernels cannot be emulated on the host");
    Path dir = Path.of("target", "host-check");
    Files.createDirectories(dir);
    Path exe = dir.resolve("emulate_kernels");
    Process cc =
        new ProcessBuilder(
                gxx, "-O2", "-std=c++17", "-o", exe.toString(), "src/test/cuda/emulate_kernels.cpp")
            .redirectErrorStream(true)
            .start();
    String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(cc.waitFor(120, TimeUnit.SECONDS), "g++ timed out");
    assertEquals(0, cc.exitValue(), () -> "g++ failed on emulate_kernels.cpp:\n" + log);
    Process run = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
    String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(run.waitFor(60, TimeUnit.SECONDS), "emulation timed out");
    assertEquals(0, run.exitValue(), () -> "emulated kernels disagree:\n" + out);
    assertTrue(out.contains("emulation: 0 failing cases"), out);
  }
}
