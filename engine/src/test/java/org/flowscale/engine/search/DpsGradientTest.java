package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The DPS direction {@code eta grad_x r(x0_hat(x)) / |r|}, composed from the reward gradient, the
 * model's VJP and the Tweedie/conversion coefficients, against central differences of the same
 * function evaluated through the engine's forward path (velocity with conversion, then Tweedie,
 * then reward). Gaussian model and quadratic reward make the function quadratic, so central
 * differences are exact up to float rounding.
 */
class DpsGradientTest {
  @ParameterizedTest
  @ValueSource(ints = {0, 2})
  void directionMatchesFiniteDifferences(int schemeIndex) {
    SamplingScheme scheme = Fixtures.SCHEMES.get(schemeIndex);
    int dim = 3;
    GaussianModel model = Fixtures.gaussian(dim);
    Fixtures.Quadratic reward = new Fixtures.Quadratic(new float[] {1.5f, -0.5f, 2f});
    SearchConfig c = Fixtures.config(FilteringMethod.DPS, 1, 1, 1, 1, 1000, 4, scheme);
    float[] x = {0.3f, -0.7f, 1.1f};
    double r = 0.55;
    double h = 0.05;
    try (CpuParticleOps ops = new CpuParticleOps();
        SearchRun run = new SearchRun(c, ops, model, reward, null)) {
      Tensor xs = run.states(1);
      Tensor us = run.states(1);
      Tensor dir = run.states(1);
      Fixtures.writeRows(ops, new float[][] {x}, xs);
      run.velocity(xs, new double[] {r}, us);
      run.dpsDirection(xs, us, new double[] {r}, dir);
      float[] got = Fixtures.rows(ops, dir)[0];
      double f0 = value(run, x, r);
      for (int j = 0; j < dim; j++) {
        float[] plus = x.clone();
        float[] minus = x.clone();
        plus[j] += (float) h;
        minus[j] -= (float) h;
        double grad = (value(run, plus, r) - value(run, minus, r)) / (2 * h);
        double want = c.dpsStepSize() * grad / Math.abs(f0);
        assertEquals(want, got[j], 2e-3 * Math.abs(want) + 1e-5, "component " + j);
      }
    }
  }

  private static double value(SearchRun run, float[] x, double r) {
    Tensor xs = run.states(1);
    Tensor us = run.states(1);
    Tensor x0 = run.states(1);
    Fixtures.writeRows(run.ops, new float[][] {x}, xs);
    run.velocity(xs, new double[] {r}, us);
    run.tweedie(xs, us, new double[] {r}, x0);
    double v = run.score(x0, new double[] {r})[0];
    run.free(xs);
    run.free(us);
    run.free(x0);
    return v;
  }
}
