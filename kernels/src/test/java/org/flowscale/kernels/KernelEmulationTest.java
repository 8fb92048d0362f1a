package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The affine and gather kernels, compiled by g++ with CUDA's built-ins emulated and run block by
 * block on the host with CudaParticleOps' launch shapes (src/test/cuda/emulate_kernels.cpp): checks
 * their indexing, vector and tail paths and bf16 packing bit for bit without a GPU, and that a
 * round replayed as a graph with a device stream counter draws, on replay k, exactly the eager
 * draws of stream base + k * perRound + offset (a fresh stream each replay). Skipped (visibly)
 * without g++.
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
    emulate("emulate_kernels", "-std=c++17");
  }

  /**
   * The reductions (group argmax, log-sum-exp, ESS, resampling) with each block's threads as fibers
   * (src/test/cuda/host_device.h), barriers for __syncthreads and the warp shuffles: argmax and
   * resampled indices must equal the CPU backend's, log-sum-exp and ESS agree to 1e-12; resampling
   * replayed with a stream counter picks, on replay k, the eager indices of stream base + k.
   */
  @Test
  void reductionKernelsMatchTheCpuBackendOnTheHost() throws Exception {
    emulate("emulate_reductions", "-std=c++17");
  }

  private static void emulate(String name, String... flags) throws Exception {
    String gxx = gxx();
    assumeTrue(gxx != null, "no g++ here: the kernels cannot be emulated on the host");
    Path dir = Path.of("target", "host-check");
    Files.createDirectories(dir);
    Path exe = dir.resolve(name);
    // float as the device rounds it: no FMA contraction
    List<String> cmd = new ArrayList<>(List.of(gxx, "-O1", "-ffp-contract=off"));
    cmd.addAll(List.of(flags));
    cmd.addAll(List.of("-o", exe.toString(), "src/test/cuda/" + name + ".cpp"));
    Process cc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(cc.waitFor(120, TimeUnit.SECONDS), "g++ timed out");
    assertEquals(0, cc.exitValue(), () -> "g++ failed on " + name + ".cpp:\n" + log);
    Process run = new ProcessBuilder(exe.toString()).redirectErrorStream(true).start();
    String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(run.waitFor(60, TimeUnit.SECONDS), "emulation timed out");
    assertEquals(0, run.exitValue(), () -> name + ": emulated kernels disagree:\n" + out);
    assertTrue(out.contains("emulation: 0 failing cases"), out);
  }
}
