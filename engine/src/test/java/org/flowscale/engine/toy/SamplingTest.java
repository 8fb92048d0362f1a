package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.junit.jupiter.api.Test;

/**
 * Sampling the exact model reproduces the mixture: the nearest template of each sample is a draw
 * from the weights {@code pi}, checked with a chi-square test. Six real templates (image-sized, so
 * the posterior sharpens as in the product) with unequal weights keep it fast; the test also checks
 * that it would reject wrong weights, so it cannot pass vacuously.
 */
class SamplingTest {
  private static final double[] WEIGHTS = {0.3, 0.22, 0.18, 0.13, 0.1, 0.07};
  private static final int N = 400;

  /** Critical value of chi-square with 5 degrees of freedom at p = 0.001. */
  private static final double CRITICAL = 20.515;

  private static ToyModel model() {
    ToyWorld world = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 400);
    float[][] means = new float[WEIGHTS.length][];
    for (int k = 0; k < means.length; k++) {
      // Spread over the blocks: different counts, kinds and layouts.
      means[k] = world.template(k * 61 + 5).image();
    }
    return ToyModel.mixture(means, WEIGHTS, 0.05);
  }

  @Test
  void odeWithManyStepsReproducesTheMixtureWeights() {
    check(SamplingScheme.linearOde(), TimeSchedule.LINEAR.grid(80), 1);
  }

  @Test
  void linearSdeReproducesTheMixtureWeights() {
    check(
        SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 3), TimeSchedule.LINEAR.grid(80), 2);
  }

  @Test
  void vpSdeThroughTheConversionReproducesTheMixtureWeights() {
    // The paper's setting: VP interpolant, square diffusion of norm 3.
    check(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3), TimeSchedule.LINEAR.grid(80), 3);
  }

  private static void check(SamplingScheme scheme, double[] grid, long seed) {
    ToyModel model = model();
    float[] x = MiniSampler.sample(model, scheme, grid, N, seed);
    int[] hits = new int[WEIGHTS.length];
    double worst = 0;
    for (int i = 0; i < N; i++) {
      int k = model.nearest(x, i * model.dim());
      hits[k]++;
      double d2 = 0;
      float[] mu = model.mean(k);
      for (int j = 0; j < model.dim(); j++) {
        double e = x[i * model.dim() + j] - mu[j];
        d2 += e * e;
      }
      worst = Math.max(worst, Math.sqrt(d2 / model.dim()));
    }
    double chi2 = chiSquare(hits, WEIGHTS);
    assertTrue(
        chi2 < CRITICAL, "chi-square " + chi2 + " for hits " + java.util.Arrays.toString(hits));
    // Power: uniform weights, or the weights reversed, are rejected by the same data.
    double[] uniform = new double[WEIGHTS.length];
    java.util.Arrays.fill(uniform, 1.0 / WEIGHTS.length);
    double[] reversed = new double[WEIGHTS.length];
    for (int k = 0; k < WEIGHTS.length; k++) {
      reversed[k] = WEIGHTS[WEIGHTS.length - 1 - k];
    }
    assertTrue(chiSquare(hits, uniform) > CRITICAL, "the test could not tell uniform weights");
    assertTrue(chiSquare(hits, reversed) > CRITICAL, "the test could not tell reversed weights");
    // Crisp: each sample sits within a few s of its template (RMS per value).
    assertTrue(worst < 0.1, "a sample is " + worst + " RMS from its template");
  }

  private static double chiSquare(int[] hits, double[] p) {
    double chi2 = 0;
    for (int k = 0; k < hits.length; k++) {
      double e = N * p[k];
      chi2 += (hits[k] - e) * (hits[k] - e) / e;
    }
    return chi2;
  }
}
