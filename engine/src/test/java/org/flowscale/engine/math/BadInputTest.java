package org.flowscale.engine.math;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.ops.Resampling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every refusal is an IllegalArgumentException whose message names the argument at fault. */
class BadInputTest {
  private static final double[] NON_FINITE = {
    Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY
  };

  private static void refused(String argument, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(
        e.getMessage() != null && e.getMessage().contains(argument),
        "message should name '" + argument + "': " + e.getMessage());
  }

  @Test
  void nonFiniteTimes() {
    SamplingScheme vp = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3);
    SamplingScheme lin = SamplingScheme.linearOde();
    for (double t : NON_FINITE) {
      refused("t must", () -> new Interpolant.Linear().at(t));
      refused("t must", () -> new Interpolant.Vp().at(t));
      refused("t must", () -> new Interpolant.Polynomial(2).at(t));
      refused("r must", () -> Conversion.toLinear(new Interpolant.Vp(), t));
      refused("r must", () -> vp.step(t, 0.01));
      refused("r must", () -> lin.step(t, 0.01));
      refused("r must", () -> vp.tweedie(t));
      refused("r must", () -> vp.score(t));
      refused("r must", () -> vp.velocity(t));
      refused("r must", () -> lin.diffusion(t));
      refused("r must", () -> lin.conversion(t));
      refused("r must", () -> DiffusionCoefficient.SQUARE.value(t, 0.5, 0.1));
      refused("sigma must", () -> TimeSchedule.fluxShift(t, 4096));
    }
    for (double rho : new double[] {Double.NaN, Double.NEGATIVE_INFINITY, -1}) {
      refused("rho must", () -> new Interpolant.Linear().snrInverse(rho));
    }
    refused("t must", () -> new Interpolant.Linear().at(-0.01));
    refused("t must", () -> new Interpolant.Linear().at(1.01));
  }

  @Test
  void badStepSizes() {
    SamplingScheme vp = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3);
    for (double d : new double[] {-0.01, 0, Double.NaN, Double.POSITIVE_INFINITY, 0.6}) {
      refused("step size d", () -> vp.step(0.5, d));
      refused("step size d", () -> SamplingScheme.linearOde().step(0.5, d));
    }
    refused("max_steps", () -> TimeSchedule.LINEAR.grid(0));
    refused("max_steps", () -> TimeSchedule.EXP.grid(-3));
    refused("imageTokens", () -> TimeSchedule.fluxShift(0.5, 0));
  }

  @Test
  void unknownNames() {
    refused("time_schedule 'cosine'", () -> TimeSchedule.byName("cosine"));
    refused("time_schedule 'null'", () -> TimeSchedule.byName(null));
    refused("diffusion_coefficient 'quadratic'", () -> DiffusionCoefficient.byName("quadratic"));
    refused("interpolant 've'", () -> Interpolant.byName("ve"));
    refused("interpolant name", () -> Interpolant.byName(null));
    refused("resampling 'stratified'", () -> Resampling.byName("stratified"));
  }

  @Test
  void badSchemeAndInterpolantParameters() {
    refused("diffusion_norm", () -> SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, Double.NaN));
    refused("diffusion_norm", () -> SamplingScheme.linearSde(DiffusionCoefficient.SIN, -1));
    refused(
        "exp_diff_coeff_sigma",
        () ->
            new SamplingScheme(
                new Interpolant.Linear(), false, true, DiffusionCoefficient.EXP, 1, 0));
    refused("expSigma", () -> DiffusionCoefficient.EXP.value(0.5, 0.5, Double.NaN));
    refused("betaMin", () -> new Interpolant.Vp(-1, 20));
    refused("betaMax", () -> new Interpolant.Vp(0.1, 0.01));
    refused("degree n", () -> new Interpolant.Polynomial(Double.NaN));
  }
}
