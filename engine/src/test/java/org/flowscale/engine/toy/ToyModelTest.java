package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

class ToyModelTest {

  /**
   * The closed form against a Monte Carlo estimate of {@code E[eps - x0 | x_t = x]} from the joint:
   * draw {@code (k, x0)} from the data, weight each draw by the exact likelihood {@code N(x; a x0,
   * t^2 I)} of the observed state (self-normalised importance sampling) and average {@code eps -
   * x0} with {@code eps = (x - a x0) / t}. The math does not depend on the dimension, so this runs
   * in 3 dimensions, where the importance weights stay well spread; the image-sized model runs the
   * same code.
   */
  @Test
  void velocityMatchesMonteCarloFromTheJointAtSeveralTimes() {
    float[][] means = {{1.2f, 0f, -0.5f}, {-1f, 1f, 0.3f}, {0.2f, -1.1f, 1f}};
    double[] weights = {0.5, 0.3, 0.2};
    double s = 0.4;
    ToyModel model = ToyModel.mixture(means, weights, s);
    Random rnd = new Random(42);
    int draws = 200_000;
    for (double t : new double[] {0.15, 0.35, 0.6, 0.85}) {
      double a = 1 - t;
      for (int point = 0; point < 3; point++) {
        // A state from the joint itself, so it lies where the data puts mass.
        int k0 = pick(weights, rnd);
        float[] x = new float[3];
        for (int j = 0; j < 3; j++) {
          x[j] = (float) (a * (means[k0][j] + s * rnd.nextGaussian()) + t * rnd.nextGaussian());
        }
        double[] sumF = new double[3];
        double[] sumF2 = new double[3];
        double sumW = 0;
        double sumW2 = 0;
        double[] logW = new double[draws];
        double[][] f = new double[draws][3];
        double maxLog = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < draws; i++) {
          int k = pick(weights, rnd);
          double d2 = 0;
          for (int j = 0; j < 3; j++) {
            double x0 = means[k][j] + s * rnd.nextGaussian();
            double eps = (x[j] - a * x0) / t;
            f[i][j] = eps - x0;
            d2 += eps * eps;
          }
          logW[i] = -d2 / 2;
          maxLog = Math.max(maxLog, logW[i]);
        }
        for (int i = 0; i < draws; i++) {
          double w = Math.exp(logW[i] - maxLog);
          sumW += w;
          sumW2 += w * w;
          for (int j = 0; j < 3; j++) {
            sumF[j] += w * f[i][j];
          }
        }
        double[] mc = new double[3];
        for (int j = 0; j < 3; j++) {
          mc[j] = sumF[j] / sumW;
        }
        for (int i = 0; i < draws; i++) {
          double w = Math.exp(logW[i] - maxLog);
          for (int j = 0; j < 3; j++) {
            double e = f[i][j] - mc[j];
            sumF2[j] += w * w * e * e;
          }
        }
        float[] u = new float[3];
        model.compute(x, new double[] {t}, null, u, 1);
        double ess = sumW * sumW / sumW2;
        assertTrue(ess > 1000, "importance sampling degenerated: ESS " + ess);
        for (int j = 0; j < 3; j++) {
          double se = Math.sqrt(sumF2[j]) / sumW;
          double err = Math.abs(u[j] - mc[j]);
          assertTrue(
              err < 5 * se + 1e-6,
              "t " + t + " value " + j + ": closed form " + u[j] + ", MC " + mc[j] + " +- " + se);
        }
      }
    }
  }

  private static int pick(double[] w, Random rnd) {
    double r = rnd.nextDouble();
    for (int k = 0; k < w.length - 1; k++) {
      r -= w[k];
      if (r < 0) {
        return k;
      }
    }
    return w.length - 1;
  }

  /**
   * The world model (templates stored sparsely against the background) against the textbook
   * formulas computed densely in double: weights from full distances {@code |x - a mu_k|^2}, then
   * {@code sum_k w_k (E[eps | x, k] - E[x0 | x, k])}; and its VJP against the dense Jacobian.
   */
  @Test
  void worldModelMatchesTheTextbookFormulasComputedDensely() {
    ToyWorld world = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 40);
    double s = 0.05;
    ToyModel model = ToyModel.of(world, Prompt.parse("one red circle and two blue squares"), s, 4);
    double[] pi = model.weights();
    Random rnd = new Random(4);
    int d = ToyWorld.DIM;
    boolean mixed = false;
    for (double t : new double[] {0.05, 0.5, 0.97, 1.0}) {
      double a = 1 - t;
      double v = a * a * s * s + t * t;
      // Between two templates, so several weights matter.
      float[] m1 = world.template(3).image();
      float[] m2 = world.template(17).image();
      float[] x = new float[d];
      float[] g = new float[d];
      for (int j = 0; j < d; j++) {
        x[j] = (float) (a * (0.5 * m1[j] + 0.5 * m2[j]) + 0.02 * rnd.nextGaussian());
        g[j] = (float) rnd.nextGaussian();
      }
      double[] logw = new double[pi.length];
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < pi.length; k++) {
        float[] mu = world.template(k).image();
        double d2 = 0;
        for (int j = 0; j < d; j++) {
          double e = x[j] - a * mu[j];
          d2 += e * e;
        }
        logw[k] = Math.log(pi[k]) - d2 / (2 * v);
        max = Math.max(max, logw[k]);
      }
      double sum = 0;
      for (int k = 0; k < pi.length; k++) {
        sum += Math.exp(logw[k] - max);
      }
      double[] u = new double[d];
      double[] mbar = new double[d];
      double[] w = new double[pi.length];
      for (int k = 0; k < pi.length; k++) {
        w[k] = Math.exp(logw[k] - max) / sum;
        float[] mu = world.template(k).image();
        for (int j = 0; j < d; j++) {
          double r = x[j] - a * mu[j];
          double eps = t / v * r;
          double x0 = mu[j] + a * s * s / v * r;
          u[j] += w[k] * (eps - x0);
          mbar[j] += w[k] * mu[j];
        }
      }
      float[] got = new float[d];
      model.compute(x, new double[] {t}, null, got, 1);
      double top = 0;
      for (double wk : w) {
        top = Math.max(top, wk);
      }
      mixed |= top < 0.99;
      for (int j = 0; j < d; j++) {
        assertEquals(u[j], got[j], 2e-5 * (1 + Math.abs(u[j])), "t " + t + " value " + j);
      }
      // J^T g = c1 g - (c1 a + 1)(a / v) (sum_k w_k mu_k (mu_k.g) - mbar (mbar.g)).
      double c1 = (t - a * s * s) / v;
      double mg = 0;
      for (int j = 0; j < d; j++) {
        mg += mbar[j] * g[j];
      }
      double[] vjp = new double[d];
      for (int k = 0; k < pi.length; k++) {
        float[] mu = world.template(k).image();
        double kg = 0;
        for (int j = 0; j < d; j++) {
          kg += (double) mu[j] * g[j];
        }
        for (int j = 0; j < d; j++) {
          vjp[j] += w[k] * mu[j] * kg;
        }
      }
      float[] gotVjp = new float[d];
      model.compute(x, new double[] {t}, g, gotVjp, 1);
      double scale = 0;
      for (int j = 0; j < d; j++) {
        vjp[j] = c1 * g[j] - (c1 * a + 1) * (a / v) * (vjp[j] - mbar[j] * mg);
        scale = Math.max(scale, Math.abs(vjp[j]));
      }
      for (int j = 0; j < d; j++) {
        assertEquals(vjp[j], gotVjp[j], 1e-5 * (1 + scale), "VJP t " + t + " value " + j);
      }
    }
    assertTrue(mixed, "some time must split the posterior, or the weights' terms go untested");
  }

  @Test
  void endpointsAreTheMixtureMeanAndTheIdentity() {
    ToyWorld world = ToyWorld.generate(3, 40);
    ToyModel model = ToyModel.of(world, Prompt.parse("two red circles"), 0.05, 3);
    double[] pi = model.weights();
    float[] x = new float[ToyWorld.DIM];
    Random rnd = new Random(1);
    for (int j = 0; j < x.length; j++) {
      x[j] = (float) rnd.nextGaussian();
    }
    float[] u = new float[ToyWorld.DIM];
    // t = 1: u = x - E[x0].
    model.compute(x, new double[] {1}, null, u, 1);
    for (int j = 0; j < x.length; j++) {
      double mean = 0;
      for (int k = 0; k < pi.length; k++) {
        mean += pi[k] * world.template(k).image()[j];
      }
      assertEquals(x[j] - mean, u[j], 1e-5);
    }
    // t = 0: x is the data point itself, u = -x.
    model.compute(x, new double[] {0}, null, u, 1);
    for (int j = 0; j < x.length; j++) {
      assertEquals(-x[j], u[j], 1e-6);
    }
  }

  @Test
  void promptReweightsTemplatesByTheFractionOfFactsTheySatisfy() {
    ToyWorld world = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 400);
    Prompt p = Prompt.parse("two blue squares and one red circle");
    double beta = 5;
    double[] pi = ToyModel.of(world, p, 0.05, beta).weights();
    double sum = 0;
    for (int k = 0; k < pi.length; k++) {
      sum += pi[k];
      double ratio = pi[k] / pi[0];
      double expected =
          Math.exp(
              beta * (p.match(world.template(k).counts()) - p.match(world.template(0).counts())));
      assertEquals(expected, ratio, 1e-9 * expected);
    }
    assertEquals(1, sum, 1e-12);
    double[] uniform = ToyModel.of(world, null, 0.05, beta).weights();
    for (double w : uniform) {
      assertEquals(1.0 / world.size(), w, 1e-15);
    }
  }

  @Test
  void batchesInParallelGiveTheSameRowsAsOneByOne() {
    ToyWorld world = ToyWorld.generate(5, 64);
    ToyModel model = ToyModel.of(world, null, 0.05, 0);
    int n = 11;
    Random rnd = new Random(2);
    float[] x = new float[n * ToyWorld.DIM];
    double[] t = new double[n];
    for (int i = 0; i < n; i++) {
      t[i] = rnd.nextDouble();
      float[] mu = world.template(rnd.nextInt(64)).image();
      for (int j = 0; j < ToyWorld.DIM; j++) {
        x[i * ToyWorld.DIM + j] = (float) ((1 - t[i]) * mu[j] + t[i] * rnd.nextGaussian());
      }
    }
    float[] batch = new float[x.length];
    model.compute(x, t, null, batch, n);
    for (int i = 0; i < n; i++) {
      float[] one = new float[ToyWorld.DIM];
      model.compute(
          java.util.Arrays.copyOfRange(x, i * ToyWorld.DIM, (i + 1) * ToyWorld.DIM),
          new double[] {t[i]},
          null,
          one,
          1);
      float[] row = java.util.Arrays.copyOfRange(batch, i * ToyWorld.DIM, (i + 1) * ToyWorld.DIM);
      // Bit for bit: results must not depend on how rows are grouped (or on the core count).
      assertArrayEquals(one, row, "row " + i);
    }
  }

  @Test
  void worksThroughOpsTensorsIncludingBf16AndInPlace() {
    ToyWorld world = ToyWorld.generate(5, 16);
    ToyModel model = ToyModel.of(world, null, 0.05, 0);
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(3, ToyWorld.DIM, DType.F32);
        Tensor xb = ops.allocate(3, ToyWorld.DIM, DType.BF16);
        Tensor t = ops.allocate(3, 1, DType.F64);
        Tensor u = ops.allocate(3, ToyWorld.DIM, DType.F32);
        Tensor ub = ops.allocate(3, ToyWorld.DIM, DType.BF16)) {
      float[] xs = new float[3 * ToyWorld.DIM];
      Random rnd = new Random(3);
      for (int j = 0; j < xs.length; j++) {
        xs[j] = (float) rnd.nextGaussian();
      }
      HostIo.writeFloats(ops, xs, x);
      HostIo.writeFloats(ops, xs, xb);
      HostIo.writeDoubles(ops, new double[] {0.9, 0.5, 0.1}, t);
      model.velocity(ops, x, t, u);
      float[] expected = new float[xs.length];
      model.compute(xs, new double[] {0.9, 0.5, 0.1}, null, expected, 3);
      assertArrayEquals(expected, HostIo.readFloats(ops, u));
      model.velocity(ops, xb, t, ub);
      float[] viaBf16 = HostIo.readFloats(ops, ub);
      for (int j = 0; j < xs.length; j++) {
        assertEquals(expected[j], viaBf16[j], 0.05 + 0.02 * Math.abs(expected[j]));
      }
      model.velocity(ops, x, t, x);
      assertArrayEquals(expected, HostIo.readFloats(ops, x), "out may be x");
    }
  }

  @Test
  void refusesBadShapesAndTimesNamingTheArgument() {
    ToyModel model = ToyModel.of(ToyWorld.generate(5, 4), null, 0.05, 0);
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(2, ToyWorld.DIM, DType.F32);
        Tensor small = ops.allocate(2, 10, DType.F32);
        Tensor t = ops.allocate(2, 1, DType.F64);
        Tensor tf = ops.allocate(2, 1, DType.F32);
        Tensor u = ops.allocate(2, ToyWorld.DIM, DType.F32)) {
      assertMessage("x must be", () -> model.velocity(ops, small, t, u));
      assertMessage("out must be", () -> model.velocity(ops, x, t, small));
      assertMessage("t must be F64", () -> model.velocity(ops, x, tf, u));
      HostIo.writeDoubles(ops, new double[] {0.5, 1.5}, t);
      assertMessage("t[1]", () -> model.velocity(ops, x, t, u));
      assertMessage("v must not be null", () -> model.velocityVjp(ops, x, t, null, u));
    }
    assertMessage("noise_std", () -> ToyModel.of(ToyWorld.generate(5, 4), null, 0, 0));
    assertMessage("beta", () -> ToyModel.of(ToyWorld.generate(5, 4), null, 0.05, -1));
  }

  static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(
        e.getMessage().contains(part),
        () -> "message \"" + e.getMessage() + "\" should contain \"" + part + "\"");
  }
}
