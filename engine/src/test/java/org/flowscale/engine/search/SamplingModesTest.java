package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * With a constant reward a search is plain sampling, so its outputs over many seeds must follow the
 * data distribution in every sampling mode (linear ODE, linear SDE, VP-SDE and polynomial(2) SDE
 * through the conversion). The Gaussian model's data is {@code N(m, 0.8 I)}; tolerances are 4
 * standard errors plus a small allowance for the time discretisation.
 */
class SamplingModesTest {
  private static final int SEEDS = 300;
  private static final int DIM = 16;

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3})
  void bonWithAConstantRewardSamplesTheData(int schemeIndex) {
    GaussianModel model = Fixtures.gaussian(DIM);
    float[] m = model.mean();
    double[] sum = new double[DIM];
    double sq = 0;
    // A linear time grid: the exp grid's last step (t = 0.14 to 0 at 100 steps) lands on the
    // Tweedie estimate, whose variance is below the data's by design.
    SearchConfig base =
        Fixtures.withSchedule(
            Fixtures.config(
                FilteringMethod.BON, 1, 1, 1, 1, 100, 100, Fixtures.SCHEMES.get(schemeIndex)),
            TimeSchedule.LINEAR);
    double[][] samples = new double[SEEDS][DIM];
    try (CpuParticleOps ops = new CpuParticleOps()) {
      for (int s = 0; s < SEEDS; s++) {
        SearchResult r =
            SearchMethods.of(FilteringMethod.BON)
                .run(base.withSeed(s), ops, model, new Fixtures.Scripted(0), null);
        for (int j = 0; j < DIM; j++) {
          samples[s][j] = r.sample()[j];
          sum[j] += r.sample()[j];
        }
      }
    }
    // Pooled over coordinates: the mean offset from m, standard error sqrt(v / (seeds dim)).
    double offset = 0;
    for (int j = 0; j < DIM; j++) {
      offset += (sum[j] / SEEDS - m[j]) / DIM;
    }
    double se = Math.sqrt(model.variance() / (SEEDS * DIM));
    assertEquals(0, offset, 4 * se + 0.01, "mean offset");
    for (double[] x : samples) {
      for (int j = 0; j < DIM; j++) {
        sq += (x[j] - m[j]) * (x[j] - m[j]);
      }
    }
    double var = sq / (SEEDS * DIM);
    double seVar = model.variance() * Math.sqrt(2.0 / (SEEDS * DIM));
    assertEquals(model.variance(), var, 4 * seVar + 0.01, "variance");
  }
}
