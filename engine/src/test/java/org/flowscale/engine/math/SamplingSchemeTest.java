package org.flowscale.engine.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplingSchemeTest {

  private static double apply(Affine a, double x, double u) {
    return a.x() * x + a.u() * u;
  }

  @Test
  void linearTweedieIsXMinusTU() {
    SamplingScheme lin = SamplingScheme.linearOde();
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 1; i <= 100; i++) {
      double t = i / 100.0;
      assertEquals(new Affine(1, -t, 0), lin.tweedie(t));
      double x0 = rnd.nextGaussian();
      double eps = rnd.nextGaussian();
      double x = (1 - t) * x0 + t * eps;
      double u = eps - x0; // the conditional velocity of one (x0, eps) pair
      assertEquals(x0, apply(lin.tweedie(t), x, u), 1e-12);
    }
  }

  @Test
  void linearScoreIsMinusEpsOverT() {
    SamplingScheme lin = SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 3);
    SplittableRandom rnd = new SplittableRandom(2);
    for (int i = 1; i <= 100; i++) {
      double t = i / 100.0;
      double x0 = rnd.nextGaussian();
      double eps = rnd.nextGaussian();
      double x = (1 - t) * x0 + t * eps;
      double u = eps - x0;
      assertEquals(-eps / t, apply(lin.score(t), x, u), 1e-10 / t);
    }
  }

  /**
   * Through the conversion the same identities hold in VP coordinates: for {@code xb = a_r x0 + s_r
   * eps} the model sees {@code xb / c = x_t} at its time t and answers {@code eps - x0}; Tweedie
   * must return x0 and the score {@code -eps / s_r}. This ties conversion, Tweedie and score.
   */
  @Test
  void vpTweedieAndScoreRecoverX0AndEpsThroughTheConversion() {
    SamplingScheme vp = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3);
    Interpolant sampling = vp.sampling();
    SplittableRandom rnd = new SplittableRandom(3);
    for (int i = 1; i <= 100; i++) {
      double r = i / 100.0;
      Interpolant.Coeffs k = sampling.at(r);
      Conversion cv = vp.conversion(r);
      double x0 = rnd.nextGaussian();
      double eps = rnd.nextGaussian();
      double xb = k.alpha() * x0 + k.sigma() * eps;
      double t = cv.modelTime();
      assertEquals((1 - t) * x0 + t * eps, xb * cv.inputScale(), 1e-12, "model input @" + r);
      double u = eps - x0;
      assertEquals(x0, apply(vp.tweedie(r), xb, u), 1e-9, "tweedie @" + r);
      assertEquals(-eps / k.sigma(), apply(vp.score(r), xb, u), 1e-9 / k.sigma(), "score @" + r);
      assertEquals(
          k.dAlpha() * x0 + k.dSigma() * eps, apply(vp.velocity(r), xb, u), 1e-9, "u_r @" + r);
    }
  }

  /**
   * The same identities on {@code polynomial(n)} (the reference's {@code convert_scheduler:
   * polynomial}), including {@code r = 1}, where for {@code n > 1} the path stands still ({@code
   * alpha = da = ds = 0}) and the formulas of MATH.md section 3 are 0/0: the engine takes their
   * limits, which must still return x0 and {@code -eps / sigma}.
   */
  @Test
  void polynomialTweedieAndScoreRecoverX0AndEpsThroughTheConversionUpToREqualsOne() {
    for (double n : new double[] {1, 1.5, 2, 3}) {
      SamplingScheme poly = SamplingScheme.polynomial(n, true, DiffusionCoefficient.SQUARE, 3);
      Interpolant sampling = poly.sampling();
      SplittableRandom rnd = new SplittableRandom(4);
      for (int i = 1; i <= 100; i++) {
        double r = i / 100.0;
        Interpolant.Coeffs k = sampling.at(r);
        Conversion cv = poly.conversion(r);
        double x0 = rnd.nextGaussian();
        double eps = rnd.nextGaussian();
        double xb = k.alpha() * x0 + k.sigma() * eps;
        double t = cv.modelTime();
        String at = "n " + n + " @" + r;
        assertEquals((1 - t) * x0 + t * eps, xb * cv.inputScale(), 1e-12, "model input " + at);
        double u = eps - x0;
        Affine tw = poly.tweedie(r);
        Affine sc = poly.score(r);
        assertTrue(Double.isFinite(tw.x()) && Double.isFinite(sc.x()), at);
        assertEquals(x0, apply(tw, xb, u), 1e-9, "tweedie " + at);
        assertEquals(-eps / k.sigma(), apply(sc, xb, u), 1e-9 / k.sigma(), "score " + at);
        assertEquals(
            k.dAlpha() * x0 + k.dSigma() * eps, apply(poly.velocity(r), xb, u), 1e-9, "u_r " + at);
        Affine step = poly.step(r, Math.min(r, 0.01));
        assertTrue(Double.isFinite(step.x()) && Double.isFinite(step.u()), "step " + at);
      }
    }
  }

  @Test
  void aPolynomialPathThatMovesInfinitelyFastAtTheStartIsRefused() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SamplingScheme.polynomial(0.5, true, DiffusionCoefficient.SQUARE, 3));
    assertTrue(e.getMessage().contains("polynomial(0.5)"), e.getMessage());
    assertTrue(e.getMessage().contains("scheduler_n >= 1"), e.getMessage());
  }

  @Test
  void odeStepIsXMinusUD() {
    SamplingScheme lin = SamplingScheme.linearOde();
    assertEquals(new Affine(1, -0.1, 0), lin.step(0.5, 0.1));
    assertEquals(0, lin.diffusion(0.5));
  }

  @Test
  void sdeStepMatchesMathMdFormula() {
    // Linear, square, norm 3 at r = 0.5, d = 0.01: g = 0.75; score = (-(1 - r) u - x) / r.
    SamplingScheme lin = SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 3);
    double r = 0.5;
    double d = 0.01;
    double g = 3 * r * r;
    assertEquals(g, lin.diffusion(r), 1e-15);
    Affine step = lin.step(r, d);
    double h = g * g / 2;
    assertEquals(1 + d * h * (-1 / r), step.x(), 1e-15);
    assertEquals(d * (-1 + h * (-(1 - r) / r)), step.u(), 1e-15);
    assertEquals(g * Math.sqrt(d), step.z(), 1e-15);
  }

  @Test
  void diffusionShapes() {
    double r = 0.7;
    double sigma = 0.3;
    assertEquals(sigma, DiffusionCoefficient.SIGMA.value(r, sigma, 0.1));
    assertEquals(1, DiffusionCoefficient.CONSTANT.value(r, sigma, 0.1));
    assertEquals(Math.sin(Math.PI * 0.35), DiffusionCoefficient.SIN.value(r, sigma, 0.1), 1e-15);
    assertEquals(0.7, DiffusionCoefficient.LINEAR.value(r, sigma, 0.1));
    assertEquals(0.49, DiffusionCoefficient.SQUARE.value(r, sigma, 0.1), 1e-15);
    assertEquals(0.4, DiffusionCoefficient.CLIPPING.value(r, sigma, 0.1), 1e-15);
    assertEquals(0, DiffusionCoefficient.CLIPPING.value(0.3, sigma, 0.1));
    assertEquals(Math.exp(-9), DiffusionCoefficient.EXP.value(r, sigma, 0.1), 1e-15);
    assertEquals(Math.tan(Math.PI * 0.35), DiffusionCoefficient.TAN.value(r, sigma, 0.1), 1e-12);
    assertEquals(
        Math.tan(Math.PI / 2 * 0.95), DiffusionCoefficient.TAN.value(1, sigma, 0.1), 1e-12);
    for (DiffusionCoefficient d : DiffusionCoefficient.values()) {
      assertEquals(d, DiffusionCoefficient.byName(d.configName()));
    }
  }

  @Test
  void conversionOffNeedsTheLinearInterpolant() {
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new SamplingScheme(
                    new Interpolant.Vp(), false, true, DiffusionCoefficient.SQUARE, 3, 0.1));
    assertTrue(e.getMessage().contains("convert_scheduler"), e.getMessage());
  }
}
