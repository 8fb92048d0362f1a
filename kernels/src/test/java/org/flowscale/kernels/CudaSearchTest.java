package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.flowscale.bindings.cuda.EmulatedDriver;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every search method end to end on the CUDA backend (the toy world, a small budget, VP-SDE): it
 * spends the same budget as on the CPU backend, and lands on the same sample up to the float
 * rounding of the Gaussian draws. Runs the backend the way the searches use it: many allocations
 * and closes, gathers, resampling, reductions and synchronisations interleaved with host-side model
 * calls.
 */
class CudaSearchTest {
  private static final String PROMPT = "two blue squares and one red circle";

  @BeforeEach
  void needsGpu() {
    EmulatedDriver.assumeUsable(new CudaParticleOpsProvider().unavailableReason());
  }

  private static SearchConfig config(FilteringMethod m) {
    boolean single =
        m == FilteringMethod.BON || m == FilteringMethod.SMC || m == FilteringMethod.DPS;
    SearchConfig.Builder b = SearchConfig.builder();
    if (m == FilteringMethod.SOP) {
      b.sop(2, 120, 780, 840); // NFE = B E + B K E ceil(s0 / (db - df)) = 4 + 24 <= 48
    }
    return b.method(m)
        .batchSize(2)
        .nParticles(single ? 1 : 3)
        .blockSize(m == FilteringMethod.CODE ? 2 : 1)
        .initNParticles(4)
        .maxNfe(48)
        .maxSteps(4)
        .timeSchedule(TimeSchedule.EXP)
        .scheme(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3))
        .rewardWeight(1.0)
        .essThreshold(0.5)
        .resampling(Resampling.MULTINOMIAL)
        .dpsStepSize(0.05)
        .seed(20251130)
        .build();
  }

  private static SearchResult run(FilteringMethod m, ParticleOps ops) {
    boolean gradient =
        m == FilteringMethod.DPS || m == FilteringMethod.SVDD_DPS || m == FilteringMethod.RBF_DPS;
    String rewardName = gradient ? "aesthetic" : "counting";
    VelocityModel model = Factories.model("toy").create(Map.of(), PROMPT);
    try (model;
        Reward reward = Factories.reward(rewardName).create(rewardName, Map.of(), PROMPT, model)) {
      return SearchMethods.of(m).run(config(m), ops, model, reward, null);
    }
  }

  @ParameterizedTest
  @EnumSource(FilteringMethod.class)
  void aSearchOnTheCudaBackendMatchesTheCpuBackend(FilteringMethod m) {
    SearchResult cpu;
    try (CpuParticleOps ops = new CpuParticleOps()) {
      cpu = run(m, ops);
    }
    SearchResult gpu;
    try (CudaParticleOps ops = new CudaParticleOps(CudaParticleOpsProvider.ordinal())) {
      gpu = run(m, ops);
    }
    assertEquals(cpu.nfe(), gpu.nfe(), "NFE");
    assertEquals(cpu.gradientPasses(), gpu.gradientPasses(), "gradient passes");
    assertEquals(cpu.trace().size(), gpu.trace().size(), "trace length");
    float[] a = cpu.sample();
    float[] b = gpu.sample();
    assertEquals(a.length, b.length);
    double num = 0;
    double den = 0;
    for (int i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) * (double) (a[i] - b[i]);
      den += a[i] * (double) a[i];
    }
    double rel = Math.sqrt(num / Math.max(den, Double.MIN_NORMAL));
    System.out.printf(
        "%s: reward cpu %.6f cuda %.6f, sample rel. diff %.3g%n",
        m, cpu.reward(), gpu.reward(), rel);
    assertTrue(rel < 1e-3, m + ": ||cuda - cpu|| / ||cpu|| = " + rel);
    assertEquals(cpu.reward(), gpu.reward(), 1e-3 * Math.max(1, Math.abs(cpu.reward())), "reward");
  }
}
