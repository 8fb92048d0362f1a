package org.flowscale.api;

import java.util.Locale;
import java.util.Optional;
import org.flowscale.engine.math.Affine;
import org.flowscale.engine.math.Conversion;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;

/**
 * Whether a config's SDE steps keep the states finite, decided before any work. An Euler-Maruyama
 * step contracts by {@code 1 - d g^2 / (2 var)} where the diffusion {@code g} is strong and the
 * path's variance small; once {@code d g^2 / (2 var) > 2} the step amplifies instead, and a few
 * such steps overflow float (MATH.md section 4's step, run with {@code diffusion_norm 100}: states
 * of 1e52 by step 28 of 40). Whether that happens depends on the norm, the diffusion's shape, the
 * path and the grid together, so no range of {@code diffusion_norm} alone can promise it.
 *
 * <p>The check runs the config's own step coefficients on the one model whose velocity is known in
 * closed form, Gaussian data of variance {@code v} (velocity {@code c(t) x}, exact), and follows
 * the state's variance through the grid: {@code V' = (a_x + a_u c s)^2 V + a_z^2}. Over {@code v}
 * in {1e-3, 1} (sharply concentrated and unit-scale data) the largest spread is the growth. It
 * predicts where the toy world's runs overflow (growth above 1e38) and where they only turn to
 * noise. A growth of 1e12 or more is refused, naming the largest norm that stays below 1e4; one of
 * 1e4 or more is a warning.
 */
final class SamplerStability {
  private SamplerStability() {}

  /** At or above this log10 growth of the state's spread, the config is refused. */
  static final double REFUSE_LOG10 = 12;

  /** At or above this log10 growth, a warning: the run stays finite but its states are noise. */
  static final double WARN_LOG10 = 4;

  private static final double[] DATA_VARIANCES = {1e-3, 1};

  /** log10 of the largest growth of the state's spread over the run (0 when nothing grows). */
  static double log10Growth(SearchConfig c) {
    return log10Growth(c.scheme(), c.timeGrid());
  }

  static double log10Growth(SamplingScheme scheme, double[] grid) {
    if (!scheme.sde()) {
      return 0;
    }
    double worst = 0;
    for (double v : DATA_VARIANCES) {
      double sigma0 = scheme.sampling().at(grid[0]).sigma();
      double var = sigma0 * sigma0;
      double start = 0.5 * Math.log10(Math.max(var, 1e-300));
      for (int k = 0; k + 1 < grid.length; k++) {
        double r = grid[k];
        double to = grid[k + 1];
        if (!(r > to) || !(r > 0)) {
          continue;
        }
        Affine a = to == 0 ? scheme.tweedie(r) : scheme.step(r, r - to);
        Conversion cv = scheme.conversion(r);
        double t = cv.modelTime();
        double c = (t - (1 - t) * v) / ((1 - t) * (1 - t) * v + t * t);
        double gain = a.x() + a.u() * c * cv.inputScale();
        var = gain * gain * var + a.z() * a.z();
        if (!Double.isFinite(var)) {
          return Double.POSITIVE_INFINITY;
        }
        worst = Math.max(worst, 0.5 * Math.log10(var) - Math.max(0, start));
      }
    }
    return worst;
  }

  /** Why the config cannot run, when its SDE steps would blow the states up. */
  static Optional<String> problem(SearchConfig c) {
    if (c.method() == FilteringMethod.SOP) {
      return Optional.empty(); // sop solves the probability-flow ODE: no diffusion
    }
    double g = log10Growth(c);
    if (g < REFUSE_LOG10) {
      return Optional.empty();
    }
    return Optional.of(
        describe(c, g)
            + " (float overflows at 1e38); use diffusion_norm <= "
            + String.format(Locale.ROOT, "%.3g", stableNorm(c))
            + ", more max_steps, a gentler diffusion_coefficient or sample_method ode");
  }

  /** A warning when the states grow a lot but stay finite. */
  static Optional<String> warning(SearchConfig c) {
    if (c.method() == FilteringMethod.SOP) {
      return Optional.empty();
    }
    double g = log10Growth(c);
    if (g < WARN_LOG10 || g >= REFUSE_LOG10) {
      return Optional.empty();
    }
    return Optional.of(
        describe(c, g)
            + ": the samples will be mostly noise; diffusion_norm <= "
            + String.format(Locale.ROOT, "%.3g", stableNorm(c))
            + " keeps them in scale");
  }

  private static String describe(SearchConfig c, double g) {
    SamplingScheme s = c.scheme();
    return String.format(
        Locale.ROOT,
        "diffusion_norm %s with %s diffusion is unstable on this %d-step %s grid: the SDE's"
            + " Euler-Maruyama steps would grow the states about %s-fold",
        s.diffusionNorm(),
        s.diffusion().configName(),
        c.maxSteps(),
        c.timeSchedule().configName(),
        Double.isInfinite(g) ? "1e300+" : "1e" + (int) Math.floor(g));
  }

  /** The largest diffusion_norm below the warning level on this grid (bisection). */
  static double stableNorm(SearchConfig c) {
    SamplingScheme s = c.scheme();
    double[] grid = c.timeGrid();
    double lo = 0;
    double hi = s.diffusionNorm();
    for (int i = 0; i < 30; i++) {
      double mid = (lo + hi) / 2;
      SamplingScheme m =
          new SamplingScheme(s.sampling(), s.convert(), true, s.diffusion(), mid, s.expSigma());
      if (log10Growth(m, grid) < WARN_LOG10) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
}
