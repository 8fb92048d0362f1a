package org.flowscale.engine.math;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class InterpolantTest {

  static Stream<Interpolant> interpolants() {
    return Stream.of(
        new Interpolant.Linear(),
        new Interpolant.Vp(),
        new Interpolant.Vp(0.5, 5),
        new Interpolant.Polynomial(1),
        new Interpolant.Polynomial(2),
        new Interpolant.Polynomial(3),
        new Interpolant.Polynomial(0.5));
  }

  /** Central difference with step h: error O(h^2 f''') plus rounding O(eps f / h). */
  private static double central(DoubleUnaryOperator f, double t, double h) {
    return (f.applyAsDouble(t + h) - f.applyAsDouble(t - h)) / (2 * h);
  }

  @ParameterizedTest
  @MethodSource("interpolants")
  void derivativesMatchCentralDifferences(Interpolant p) {
    double h = 1e-6;
    for (int i = 1; i < 200; i++) {
      double t = i / 200.0;
      Interpolant.Coeffs k = p.at(t);
      double fdAlpha = central(s -> p.at(s).alpha(), t, h);
      double fdSigma = central(s -> p.at(s).sigma(), t, h);
      // h = 1e-6 gives ~1e-10 rounding and ~1e-12 truncation on these smooth functions; the
      // tolerance leaves room for the 1/sqrt(t) growth of the VP dSigma near 0.
      assertEquals(fdAlpha, k.dAlpha(), 1e-7 * Math.max(1, Math.abs(fdAlpha)), p + " da @" + t);
      assertEquals(fdSigma, k.dSigma(), 1e-7 * Math.max(1, Math.abs(fdSigma)), p + " ds @" + t);
    }
  }

  @ParameterizedTest
  @MethodSource("interpolants")
  void endpointsGoFromDataToNoise(Interpolant p) {
    Interpolant.Coeffs zero = p.at(0);
    assertEquals(1, zero.alpha(), 0);
    assertEquals(0, zero.sigma(), 0);
    Interpolant.Coeffs one = p.at(1);
    if (p instanceof Interpolant.Vp vp) {
      // VP never reaches pure noise: alpha(1) = exp(-T(1)/2).
      double bigT = (vp.betaMax() - vp.betaMin()) / 2 + vp.betaMin();
      assertEquals(Math.exp(-bigT / 2), one.alpha(), 1e-15);
      assertEquals(Math.sqrt(1 - Math.exp(-bigT)), one.sigma(), 1e-15);
    } else {
      assertEquals(0, one.alpha(), 0);
      assertEquals(1, one.sigma(), 0);
    }
  }

  @Test
  void tableValuesOfMathMd() {
    Interpolant.Coeffs lin = new Interpolant.Linear().at(0.3);
    assertEquals(new Interpolant.Coeffs(0.7, 0.3, -1, 1), lin);

    // VP at t = 0.5 by hand: T = 0.25 * 19.9 / 2 + 0.05 = 2.5375, T' = 0.5 * 19.9 + 0.1 = 10.05.
    Interpolant.Coeffs vp = new Interpolant.Vp().at(0.5);
    double a = Math.exp(-2.5375 / 2);
    double s = Math.sqrt(1 - Math.exp(-2.5375));
    assertEquals(a, vp.alpha(), 1e-15);
    assertEquals(s, vp.sigma(), 1e-15);
    assertEquals(-10.05 * a / 2, vp.dAlpha(), 1e-14);
    assertEquals(10.05 * Math.exp(-2.5375) / (2 * s), vp.dSigma(), 1e-14);

    Interpolant.Coeffs poly = new Interpolant.Polynomial(3).at(0.5);
    assertEquals(new Interpolant.Coeffs(0.125, 0.875, -0.75, 0.75), poly);
  }

  @Test
  void vpIsVariancePreserving() {
    Interpolant vp = new Interpolant.Vp();
    for (int i = 0; i <= 100; i++) {
      Interpolant.Coeffs k = vp.at(i / 100.0);
      assertEquals(1, k.alpha() * k.alpha() + k.sigma() * k.sigma(), 1e-14);
    }
  }

  @Test
  void snrInverseInvertsTheLinearSnr() {
    Interpolant.Linear lin = new Interpolant.Linear();
    for (double t : List.of(1e-9, 0.01, 0.25, 0.5, 0.9, 1.0)) {
      Interpolant.Coeffs k = lin.at(t);
      assertEquals(t, lin.snrInverse(k.alpha() / k.sigma()), 1e-15 * Math.max(1, 1 / t));
    }
    assertEquals(0, lin.snrInverse(Double.POSITIVE_INFINITY));
    assertEquals(1, lin.snrInverse(0));
  }

  @Test
  void byNameFindsEachInterpolant() {
    assertTrue(Interpolant.byName("linear") instanceof Interpolant.Linear);
    assertTrue(Interpolant.byName("VP") instanceof Interpolant.Vp);
    assertTrue(Interpolant.byName("polynomial") instanceof Interpolant.Polynomial);
    var e = assertThrows(IllegalArgumentException.class, () -> Interpolant.byName("cosine"));
    assertTrue(e.getMessage().contains("interpolant 'cosine'"), e.getMessage());
  }
}
