package org.flowscale.engine.math;

import static org.flowscale.engine.testing.HostTensors.coefs;
import static org.flowscale.engine.testing.HostTensors.column;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.testing.HostTensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The test that the SDE drift, the score and the conversion agree with each other (MATH.md section
 * 4): every sampler, run for {@value #STEPS} steps on Gaussian data with the exact model, must end
 * with the data's mean and variance.
 *
 * <p>Two sources of error are kept apart:
 *
 * <ul>
 *   <li>Discretisation. With the exact model of {@code N(m, v I)} data every step is, per
 *       coordinate, {@code x' = A x + B m + C z}, so the exact mean and variance of the discrete
 *       chain follow a scalar recursion ({@code mu' = A mu + B m}, {@code V' = A^2 V + C^2}). Euler
 *       steps are first order, so at 200 steps these differ from the data by well under {@value
 *       #DISC_ALLOWANCE} (relative); the test asserts this, independently of any sampling noise.
 *   <li>Sampling noise. The {@value #PARTICLES} particles' sample moments are compared with the
 *       data within 5 standard errors for that sample size plus the discretisation allowance, and
 *       with the recursion's exact moments within 5 standard errors alone (so the particle
 *       operations are checked to statistical precision, not only to the allowance).
 * </ul>
 *
 * The chain starts from the exact marginal of the sampling interpolant at r = 1 ({@code N(0, I)}
 * for linear; VP still carries {@code alpha(1) = 0.0066} of the data), so no start-up error mixes
 * in.
 */
class SamplingConvergenceTest {
  static final int STEPS = 200;
  static final int PARTICLES = 16384;
  static final int DIM = 8;
  static final double VARIANCE = 0.25;
  static final double DISC_ALLOWANCE = 0.02;
  private static final double Z = 5;

  static Stream<Arguments> schemes() {
    return Stream.of(
        Arguments.of("linear ODE", SamplingScheme.linearOde()),
        Arguments.of(
            "linear SDE, square, norm 3", SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 3)),
        Arguments.of(
            "linear SDE, sin, norm 1", SamplingScheme.linearSde(DiffusionCoefficient.SIN, 1)),
        Arguments.of(
            "VP ODE",
            new SamplingScheme(
                new Interpolant.Vp(), true, false, DiffusionCoefficient.SQUARE, 0, 0.1)),
        Arguments.of(
            "VP-SDE, square, norm 3", SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3)),
        Arguments.of(
            "VP-SDE, constant, norm 1", SamplingScheme.vpSde(DiffusionCoefficient.CONSTANT, 1)),
        Arguments.of(
            "polynomial(2) SDE, square, norm 3",
            SamplingScheme.polynomial(2, true, DiffusionCoefficient.SQUARE, 3)));
  }

  /** {@code k(t), km(t)} of the exact linear velocity {@code u = k x + km m}, written anew here. */
  private static double[] linearVelocity(double t) {
    double a = 1 - t;
    double bigV = a * a * VARIANCE + t * t;
    // u = E[eps - x0 | x] = t (x - a m)/V - m - a v (x - a m)/V
    double k = (t - a * VARIANCE) / bigV;
    return new double[] {k, -1 - k * a};
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("schemes")
  void reproducesTheDataMeanAndVariance(String label, SamplingScheme scheme) {
    SplittableRandom rnd = new SplittableRandom(label.hashCode());
    float[] mean = new float[DIM];
    for (int j = 0; j < DIM; j++) {
      mean[j] = (float) rnd.nextDouble(-1.5, 1.5);
    }
    GaussianModel model = new GaussianModel(mean, VARIANCE);
    double[] grid = TimeSchedule.LINEAR.grid(STEPS);
    Interpolant.Coeffs start = scheme.sampling().at(1);

    // The exact moments of the discrete chain, per coordinate (mu) and shared (V).
    double[] mu = new double[DIM];
    for (int j = 0; j < DIM; j++) {
      mu[j] = start.alpha() * mean[j];
    }
    double var = start.alpha() * start.alpha() * VARIANCE + start.sigma() * start.sigma();
    for (int i = 0; i < STEPS; i++) {
      double r = grid[i];
      Conversion cv = scheme.conversion(r);
      Affine step = scheme.step(r, r - grid[i + 1]);
      double[] k = linearVelocity(cv.modelTime());
      double a = step.x() + step.u() * k[0] * cv.inputScale();
      for (int j = 0; j < DIM; j++) {
        mu[j] = a * mu[j] + step.u() * k[1] * mean[j];
      }
      var = a * a * var + step.z() * step.z();
    }
    for (int j = 0; j < DIM; j++) {
      assertTrue(
          Math.abs(mu[j] - mean[j]) < DISC_ALLOWANCE * Math.max(1, Math.abs(mean[j])),
          label + ": discrete mean " + mu[j] + " vs data " + mean[j]);
    }
    assertTrue(
        Math.abs(var / VARIANCE - 1) < DISC_ALLOWANCE,
        label + ": discrete variance " + var + " vs data " + VARIANCE);

    float[] samples = sample(scheme, model, grid, start);

    double[] sampleMean = new double[DIM];
    double pooledVar = 0;
    for (int j = 0; j < DIM; j++) {
      double s = 0;
      for (int p = 0; p < PARTICLES; p++) {
        s += samples[p * DIM + j];
      }
      sampleMean[j] = s / PARTICLES;
      double ss = 0;
      for (int p = 0; p < PARTICLES; p++) {
        double dev = samples[p * DIM + j] - sampleMean[j];
        ss += dev * dev;
      }
      pooledVar += ss / (PARTICLES - 1) / DIM;
    }
    // Standard errors: mean sqrt(V/N); pooled variance of D coordinates V sqrt(2 / ((N-1) D)).
    double seMean = Math.sqrt(var / PARTICLES);
    double seVar = var * Math.sqrt(2.0 / ((PARTICLES - 1.0) * DIM));
    for (int j = 0; j < DIM; j++) {
      double vsChain = Math.abs(sampleMean[j] - mu[j]);
      double vsData = Math.abs(sampleMean[j] - mean[j]);
      assertTrue(
          vsChain < Z * seMean,
          label + ": coordinate " + j + " mean " + sampleMean[j] + " vs chain " + mu[j]);
      assertTrue(
          vsData < Z * seMean + DISC_ALLOWANCE * Math.max(1, Math.abs(mean[j])),
          label + ": coordinate " + j + " mean " + sampleMean[j] + " vs data " + mean[j]);
    }
    assertTrue(
        Math.abs(pooledVar - var) < Z * seVar,
        label + ": variance " + pooledVar + " vs chain " + var + " (se " + seVar + ")");
    assertTrue(
        Math.abs(pooledVar - VARIANCE) < Z * seVar + DISC_ALLOWANCE * VARIANCE,
        label + ": variance " + pooledVar + " vs data " + VARIANCE + " (se " + seVar + ")");
  }

  /**
   * The sampling loop as a search algorithm writes it: model input {@code x * inputScale} at the
   * model time, raw velocity, then one fused affine step.
   */
  private static float[] sample(
      SamplingScheme scheme, GaussianModel model, double[] grid, Interpolant.Coeffs start) {
    long seed = 20251127L;
    try (ParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(PARTICLES, DIM, DType.F32);
        Tensor xin = ops.allocate(PARTICLES, DIM, DType.F32);
        Tensor u = ops.allocate(PARTICLES, DIM, DType.F32)) {
      // x_1 = alpha(1) m + sqrt(alpha(1)^2 v + sigma(1)^2) z, the exact marginal at r = 1.
      ops.gaussian(new Noise(seed, Long.MAX_VALUE, null), x);
      float[] init = HostTensors.floats(ops, x);
      double sd =
          Math.sqrt(start.alpha() * start.alpha() * VARIANCE + start.sigma() * start.sigma());
      float[] mean = model.mean();
      for (int k = 0; k < init.length; k++) {
        init[k] = (float) (start.alpha() * mean[k % DIM] + sd * init[k]);
      }
      try (Tensor x1 = HostTensors.floats(ops, PARTICLES, DIM, init)) {
        ops.copy(x1, x);
      }
      for (int i = 0; i < STEPS; i++) {
        double r = grid[i];
        Conversion cv = scheme.conversion(r);
        Affine step = scheme.step(r, r - grid[i + 1]);
        try (Tensor scale = coefs(ops, PARTICLES, cv.inputScale(), 0, 0);
            Tensor t = column(ops, PARTICLES, cv.modelTime());
            Tensor c = coefs(ops, PARTICLES, step.x(), step.u(), step.z())) {
          ops.affine(x, null, scale, null, xin);
          model.velocity(ops, xin, t, u);
          ops.affine(x, u, c, step.z() == 0 ? null : new Noise(seed, i, null), x);
        }
      }
      return HostTensors.floats(ops, x);
    }
  }
}
