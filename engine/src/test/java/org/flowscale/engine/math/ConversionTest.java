package org.flowscale.engine.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.testing.HostTensors;
import org.junit.jupiter.api.Test;

/**
 * The VP-from-linear conversion against closed forms: for data {@code x0 ~ N(m, v I)} and any
 * interpolant {@code x = a x0 + s eps}, {@code x} is Gaussian with mean {@code a m} and variance
 * {@code a^2 v + s^2}, so {@code E[x0 | x] = m + a v (x - a m) / (a^2 v + s^2)}, {@code E[eps | x]
 * = s (x - a m) / (a^2 v + s^2)} and the exact velocity is {@code da E[x0|x] + ds E[eps|x]}. The
 * converted exact linear velocity must equal the exact VP velocity.
 */
class ConversionTest {
  private static final Interpolant VP = new Interpolant.Vp();
  private static final Interpolant LINEAR = new Interpolant.Linear();

  /** The exact velocity of N(m, v) data under interpolant p at time t, at state x. */
  static double exactVelocity(Interpolant p, double t, double m, double v, double x) {
    Interpolant.Coeffs k = p.at(t);
    double var = k.alpha() * k.alpha() * v + k.sigma() * k.sigma();
    double dev = x - k.alpha() * m;
    double x0 = m + k.alpha() * v * dev / var;
    double eps = k.sigma() * dev / var;
    return k.dAlpha() * x0 + k.dSigma() * eps;
  }

  /** Times in (0, 1]: random, plus both ends of the range. */
  private static double[] times(long seed, int n) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double[] r = new double[n];
    for (int i = 0; i < n; i++) {
      r[i] = 1 - rnd.nextDouble(); // (0, 1]
    }
    r[0] = 1;
    r[1] = 1e-4;
    r[2] = 1e-2;
    return r;
  }

  @Test
  void convertedLinearVelocityIsTheVpVelocityClosedForm() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (double r : times(5, 500)) {
      Conversion cv = Conversion.toLinear(VP, r);
      double m = rnd.nextDouble(-2, 2);
      double v = rnd.nextDouble(0.05, 3);
      Interpolant.Coeffs k = VP.at(r);
      // A typical state of the VP marginal at r.
      double x =
          k.alpha() * m
              + Math.sqrt(k.alpha() * k.alpha() * v + k.sigma() * k.sigma()) * rnd.nextGaussian();
      double model = exactVelocity(LINEAR, cv.modelTime(), m, v, x * cv.inputScale());
      double converted = cv.stateCoeff() * x + cv.velocityCoeff() * model;
      double exact = exactVelocity(VP, r, m, v, x);
      double scale = Math.abs(exact) + Math.abs(cv.stateCoeff() * x);
      assertEquals(exact, converted, 1e-5 * scale, "r=" + r + " m=" + m + " v=" + v + " x=" + x);
    }
  }

  /** The same through the engine's own model and SamplingScheme.velocity, vector-wise. */
  @Test
  void convertedGaussianModelVelocityIsTheVpVelocity() {
    int dim = 64;
    SplittableRandom rnd = new SplittableRandom(12);
    float[] mean = new float[dim];
    for (int j = 0; j < dim; j++) {
      mean[j] = (float) rnd.nextDouble(-2, 2);
    }
    double v = 0.3;
    GaussianModel model = new GaussianModel(mean, v);
    SamplingScheme scheme = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3);
    try (ParticleOps ops = new CpuParticleOps()) {
      for (double r : times(6, 200)) {
        Conversion cv = scheme.conversion(r);
        Interpolant.Coeffs k = VP.at(r);
        double sd = Math.sqrt(k.alpha() * k.alpha() * v + k.sigma() * k.sigma());
        double[] x = new double[dim];
        float[] xin = new float[dim];
        for (int j = 0; j < dim; j++) {
          // The model sees a float input; take the state it stands for, so that only the
          // model's float output rounds.
          xin[j] = (float) ((k.alpha() * mean[j] + sd * rnd.nextGaussian()) * cv.inputScale());
          x[j] = xin[j] * cv.c();
        }
        float[] u;
        try (Tensor xt = HostTensors.floats(ops, 1, dim, xin);
            Tensor tt = HostTensors.column(ops, 1, cv.modelTime());
            Tensor ut = ops.allocate(1, dim, org.flowscale.engine.ops.DType.F32)) {
          model.velocity(ops, xt, tt, ut);
          u = HostTensors.floats(ops, ut);
        }
        Affine vel = scheme.velocity(r);
        double err = 0;
        double norm = 0;
        for (int j = 0; j < dim; j++) {
          double exact = exactVelocity(VP, r, mean[j], v, x[j]);
          double converted = vel.x() * x[j] + vel.u() * u[j];
          err += (converted - exact) * (converted - exact);
          norm += exact * exact;
        }
        double rel = Math.sqrt(err / norm);
        assertTrue(rel < 1e-5, "relative error " + rel + " at r = " + r);
      }
    }
  }

  @Test
  void coefficientsAtKnownPoints() {
    // Linear to linear is the identity.
    Conversion id = Conversion.toLinear(LINEAR, 0.4);
    assertEquals(0.4, id.modelTime(), 1e-15);
    assertEquals(1, id.c(), 1e-15);
    assertEquals(1, id.dtdr(), 1e-15);
    assertEquals(0, id.dcdr(), 1e-15);
    // The model time has the VP time's signal-to-noise ratio, and c maps one path onto the other.
    for (double r : times(7, 50)) {
      Conversion cv = Conversion.toLinear(VP, r);
      Interpolant.Coeffs k = VP.at(r);
      double t = cv.modelTime();
      assertEquals(k.alpha() / k.sigma(), (1 - t) / t, 1e-9 * Math.max(1, (1 - t) / t));
      assertEquals(k.alpha(), cv.c() * (1 - t), 1e-12);
      assertEquals(k.sigma(), cv.c() * t, 1e-12);
    }
  }

  @Test
  void derivativesMatchCentralDifferences() {
    double h = 1e-6;
    for (int i = 1; i < 100; i++) {
      double r = i / 100.0;
      Conversion cv = Conversion.toLinear(VP, r);
      double fdT =
          (Conversion.toLinear(VP, r + h).modelTime() - Conversion.toLinear(VP, r - h).modelTime())
              / (2 * h);
      double fdC =
          (Conversion.toLinear(VP, r + h).c() - Conversion.toLinear(VP, r - h).c()) / (2 * h);
      assertEquals(fdT, cv.dtdr(), 1e-6 * Math.max(1, Math.abs(fdT)), "dt/dr @" + r);
      assertEquals(fdC, cv.dcdr(), 1e-6 * Math.max(1, Math.abs(fdC)), "dc/dr @" + r);
    }
  }

  @Test
  void refusesTheSingularEndAndBadTimes() {
    var zero = assertThrows(IllegalArgumentException.class, () -> Conversion.toLinear(VP, 0));
    assertTrue(zero.getMessage().startsWith("r "), zero.getMessage());
    for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, -0.1, 1.5}) {
      var e = assertThrows(IllegalArgumentException.class, () -> Conversion.toLinear(VP, bad));
      assertTrue(e.getMessage().startsWith("r must"), e.getMessage());
    }
  }
}
