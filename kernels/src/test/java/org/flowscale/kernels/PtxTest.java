package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The PTX the build compiled: present whenever nvcc is, and holding every kernel. */
class PtxTest {
  static final List<String> ENTRIES =
      List.of(
          "fs_affine_f32",
          "fs_affine_bf16",
          "fs_gaussian_f32",
          "fs_gaussian_bf16",
          "fs_gather_16",
          "fs_gather_8",
          "fs_gather_4",
          "fs_gather_2",
          "fs_group_argmax",
          "fs_logsumexp",
          "fs_ess",
          "fs_resample",
          "fs_advance_streams");

  /** nvcc as build-ptx.sh finds it (FLOWSCALE_NVCC, PATH, the usual CUDA folders), or null. */
  static String nvcc() {
    String forced = System.getenv("FLOWSCALE_NVCC");
    if (forced != null) {
      return Files.isExecutable(Path.of(forced)) ? forced : null;
    }
    List<Path> candidates = new java.util.ArrayList<>();
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty()) {
        candidates.add(Path.of(dir, "nvcc"));
      }
    }
    candidates.add(Path.of("/usr/local/cuda/bin/nvcc"));
    candidates.add(Path.of("/usr/local/cuda-13.0/bin/nvcc"));
    return candidates.stream()
        .filter(Files::isExecutable)
        .map(Path::toString)
        .findFirst()
        .orElse(null);
  }

  static boolean nvccPresent() {
    return nvcc() != null;
  }

  @Test
  void ptxIsBuiltWheneverNvccIsThereAndHasEveryKernel() {
    var missing = Ptx.missingReason();
    if (missing.isPresent()) {
      if (nvccPresent()) {
        fail("nvcc is on this machine but the build produced no PTX: " + missing.get());
      }
      assumeTrue(false, "no nvcc here, PTX not built: " + missing.get());
    }
    String ptx = new String(Ptx.read(Ptx.PARTICLE_OPS), StandardCharsets.US_ASCII);
    assertTrue(ptx.contains(".target sm_90"), "PTX must target compute_90");
    for (String e : ENTRIES) {
      assertTrue(
          Pattern.compile("\\.visible \\.entry " + e + "\\(").matcher(ptx).find(),
          "PTX lacks kernel " + e);
    }
  }

  @Test
  void missingPtxIsReportedAsSuch() {
    assertTrue(
        Ptx.missingReason().isPresent() || Ptx.read(Ptx.PARTICLE_OPS).length > 1000,
        "PTX present but suspiciously small");
    var e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalStateException.class, () -> Ptx.read("org/flowscale/kernels/none.ptx"));
    assertTrue(e.getMessage().contains("PTX not built") || e.getMessage().contains("none.ptx"));
  }
}
