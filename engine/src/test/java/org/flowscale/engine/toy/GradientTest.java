package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/** Every gradient against central finite differences along random and adversarial directions. */
class GradientTest {
  private static final int D = ToyWorld.DIM;
  private static final ToyWorld WORLD = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 24);

  /**
   * Points where the posterior is split between templates (the midpoint of two, where the weights'
   * derivative, the covariance term, dominates) and a point near t = 1 where all mix.
   */
  private static float[] splitPoint(ToyModel model, int i, int j, double t, Random rnd) {
    float[] mi = model.mean(i);
    float[] mj = model.mean(j);
    float[] x = new float[D];
    for (int k = 0; k < D; k++) {
      x[k] = (float) ((1 - t) * 0.5 * (mi[k] + mj[k]) + 0.01 * rnd.nextGaussian());
    }
    return x;
  }

  private static float[] unit(float[] v) {
    double n = 0;
    for (float e : v) {
      n += e * e;
    }
    float[] u = new float[v.length];
    for (int k = 0; k < v.length; k++) {
      u[k] = (float) (v[k] / Math.sqrt(n));
    }
    return u;
  }

  private static float[] gaussian(Random rnd) {
    float[] v = new float[D];
    for (int k = 0; k < D; k++) {
      v[k] = (float) rnd.nextGaussian();
    }
    return unit(v);
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int k = 0; k < a.length; k++) {
      s += (double) a[k] * b[k];
    }
    return s;
  }

  private static float[] step(float[] x, float[] dir, double h) {
    float[] y = new float[x.length];
    for (int k = 0; k < x.length; k++) {
      y[k] = (float) (x[k] + h * dir[k]);
    }
    return y;
  }

  @Test
  void velocityVjpMatchesFiniteDifferences() {
    ToyModel model = ToyModel.of(WORLD, Prompt.parse("one red circle"), 0.05, 2);
    Random rnd = new Random(5);
    double maxCovariance = 0;
    for (double t : new double[] {0.3, 0.6, 0.95}) {
      for (int trial = 0; trial < 3; trial++) {
        float[] x = splitPoint(model, trial, trial + 7, t, rnd);
        float[] g = gaussian(rnd);
        // Along the line between the two means the weights change fastest.
        float[] between = new float[D];
        float[] mi = model.mean(trial);
        float[] mj = model.mean(trial + 7);
        for (int k = 0; k < D; k++) {
          between[k] = mi[k] - mj[k] + 0.3f * g[k];
        }
        for (float[] dir : new float[][] {g, unit(between), gaussian(rnd)}) {
          float[] vjp = new float[D];
          model.compute(x, new double[] {t}, g, vjp, 1);
          double analytic = dot(dir, vjp);
          double h = 2e-4;
          float[] up = new float[D];
          float[] down = new float[D];
          float[] xp = step(x, dir, h);
          float[] xm = step(x, dir, -h);
          model.compute(xp, new double[] {t}, null, up, 1);
          model.compute(xm, new double[] {t}, null, down, 1);
          // The actual step taken, after rounding x + h dir to float.
          double taken = 0;
          for (int k = 0; k < D; k++) {
            taken += ((double) xp[k] - xm[k]) * dir[k];
          }
          double numeric = (dot(g, up) - dot(g, down)) / taken;
          double linear =
              (t - (1 - t) * 0.0025) / ((1 - t) * (1 - t) * 0.0025 + t * t) * dot(g, dir);
          maxCovariance = Math.max(maxCovariance, Math.abs(analytic - linear));
          assertEquals(
              numeric,
              analytic,
              2e-3 * Math.max(1, Math.abs(analytic)),
              "t " + t + " trial " + trial);
        }
      }
    }
    assertTrue(maxCovariance > 10, "the weights' derivative must be exercised: " + maxCovariance);
  }

  @Test
  void aestheticGradientMatchesFiniteDifferences() {
    Random rnd = new Random(6);
    float[] x = WORLD.template(3).image();
    for (int k = 0; k < D; k++) {
      // Noise plus values beyond [-1, 1], so every term (gamut included) is active.
      x[k] = (float) (x[k] * 1.05 + 0.2 * rnd.nextGaussian());
    }
    double[] grad = new double[D];
    double value = AestheticReward.evaluate(x, 0, grad, 0);
    assertEquals(value, AestheticReward.evaluate(x, 0, null, 0));
    float[] g32 = new float[D];
    for (int k = 0; k < D; k++) {
      g32[k] = (float) grad[k];
    }
    for (int trial = 0; trial < 4; trial++) {
      float[] dir = trial == 0 ? unit(g32) : gaussian(rnd);
      double h = 1e-3;
      float[] xp = step(x, dir, h);
      float[] xm = step(x, dir, -h);
      double numeric =
          (AestheticReward.evaluate(xp, 0, null, 0) - AestheticReward.evaluate(xm, 0, null, 0));
      double taken = 0;
      double analytic = 0;
      for (int k = 0; k < D; k++) {
        taken += ((double) xp[k] - xm[k]) * dir[k];
        analytic += grad[k] * ((double) xp[k] - xm[k]);
      }
      assertEquals(numeric, analytic, 1e-3 * Math.abs(analytic) + 1e-12, "trial " + trial);
      assertTrue(taken > 0);
    }
    // Single coordinates, one in each term's regime.
    for (int k : new int[] {0, 1000, 1551, 3071}) {
      float[] xp = x.clone();
      float[] xm = x.clone();
      xp[k] += 1e-3f;
      xm[k] -= 1e-3f;
      double numeric =
          (AestheticReward.evaluate(xp, 0, null, 0) - AestheticReward.evaluate(xm, 0, null, 0))
              / ((double) xp[k] - xm[k]);
      assertEquals(numeric, grad[k], 1e-3 * Math.abs(grad[k]) + 1e-9, "coordinate " + k);
    }
  }

  /**
   * The DPS chain through the ops API: {@code d/dx r(x - t u(x)) = g - t J^T g} with {@code g} the
   * reward gradient at the Tweedie estimate and {@code J^T g} the model's VJP.
   */
  @Test
  void composedTweedieVjpMatchesFiniteDifferences() {
    ToyModel model = ToyModel.of(WORLD, null, 0.05, 0);
    AestheticReward reward = new AestheticReward();
    Random rnd = new Random(8);
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor xt = ops.allocate(1, D, DType.F32);
        Tensor tt = ops.allocate(1, 1, DType.F64);
        Tensor u = ops.allocate(1, D, DType.F32);
        Tensor x0 = ops.allocate(1, D, DType.F32);
        Tensor score = ops.allocate(1, 1, DType.F64);
        Tensor g = ops.allocate(1, D, DType.F32);
        Tensor vjp = ops.allocate(1, D, DType.F32)) {
      for (double t : new double[] {0.4, 0.8}) {
        float[] x = splitPoint(model, 2, 5, t, rnd);
        HostIo.writeDoubles(ops, new double[] {t}, tt);
        HostIo.writeFloats(ops, x, xt);
        model.velocity(ops, xt, tt, u);
        float[] us = HostIo.readFloats(ops, u);
        float[] tw = new float[D];
        for (int k = 0; k < D; k++) {
          tw[k] = (float) (x[k] - t * us[k]);
        }
        HostIo.writeFloats(ops, tw, x0);
        reward.gradient(ops, x0, score, g);
        model.velocityVjp(ops, xt, tt, g, vjp);
        float[] gs = HostIo.readFloats(ops, g);
        float[] js = HostIo.readFloats(ops, vjp);
        float[] total = new float[D];
        for (int k = 0; k < D; k++) {
          total[k] = (float) (gs[k] - t * js[k]);
        }
        for (int trial = 0; trial < 3; trial++) {
          float[] dir = trial == 0 ? unit(total) : gaussian(rnd);
          // Small: along the split the weights move fast (second-order error ~ (112 h)^2 / 6).
          double h = 1e-4;
          float[] xp = step(x, dir, h);
          float[] xm = step(x, dir, -h);
          double numeric = (tweedieReward(model, xp, t) - tweedieReward(model, xm, t));
          double analytic = 0;
          for (int k = 0; k < D; k++) {
            analytic += (double) total[k] * ((double) xp[k] - xm[k]);
          }
          assertEquals(
              numeric, analytic, 2e-3 * Math.abs(analytic) + 1e-9, "t " + t + " trial " + trial);
        }
        assertEquals(AestheticReward.evaluate(tw, 0, null, 0), HostIo.readDoubles(ops, score)[0]);
      }
    }
  }

  private static double tweedieReward(ToyModel model, float[] x, double t) {
    float[] u = new float[D];
    model.compute(x, new double[] {t}, null, u, 1);
    float[] tw = new float[D];
    for (int k = 0; k < D; k++) {
      tw[k] = (float) (x[k] - t * u[k]);
    }
    return AestheticReward.evaluate(tw, 0, null, 0);
  }
}
