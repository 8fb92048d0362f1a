package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * The paper's headline at 500 NFE with its settings (BoN 50 x 1; RBF 2 chains of 25 initial
 * particles, quota 22; VP-SDE, square diffusion, norm 3; 10 exp steps), in a world where the reward
 * of a Tweedie estimate is informative all along the path, as it is for image rewards on FLUX:
 * Gaussian data {@code N(0, I)} in 16 dimensions, reward {@code -mean (x - 1.5)^2} (a tail region
 * plain sampling rarely reaches). RBF's final reward must beat BoN's, paired by seed over 20 fixed
 * seeds, one-sided sign test at 1%.
 */
class InformativeRewardTest {
  private static final int SEEDS = 20;
  private static final int DIM = 16;

  private static double[] run(FilteringMethod m, int b, int k0) {
    GaussianModel model = new GaussianModel(new float[DIM], 1.0);
    float[] target = new float[DIM];
    Arrays.fill(target, 1.5f);
    double[] rewards = new double[SEEDS];
    try (CpuParticleOps ops = new CpuParticleOps()) {
      for (int s = 0; s < SEEDS; s++) {
        SearchConfig c =
            SearchConfig.builder()
                .method(m)
                .batchSize(b)
                .initNParticles(k0)
                .maxNfe(500)
                .maxSteps(10)
                .scheme(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3))
                .dpsStepSize(0)
                .seed(300 + s)
                .build();
        rewards[s] =
            SearchMethods.of(m).run(c, ops, model, new Fixtures.Quadratic(target), null).reward();
      }
    }
    return rewards;
  }

  @Test
  void rbfBeatsBestOfNAtTheSameBudget() {
    double[] rbf = run(FilteringMethod.RBF, 2, 25);
    double[] bon = run(FilteringMethod.BON, 50, 1);
    double p = PairedSignTest.pValue(rbf, bon);
    String detail = "RBF " + Arrays.toString(rbf) + " vs BoN " + Arrays.toString(bon);
    assertTrue(PairedSignTest.mean(rbf) > PairedSignTest.mean(bon), detail);
    assertTrue(p < 0.01, "sign test p = " + p + ": " + detail);
  }
}
