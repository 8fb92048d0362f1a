package org.flowscale.engine.math;

import java.util.Locale;

/**
 * A path {@code x_t = alpha_t x0 + sigma_t eps} from data ({@code t = 0}) to noise ({@code t = 1}),
 * with the time derivatives of its coefficients (MATH.md section 1).
 */
public sealed interface Interpolant
    permits Interpolant.Linear, Interpolant.Vp, Interpolant.Polynomial {

  /** alpha, sigma and their time derivatives at one time. */
  record Coeffs(double alpha, double sigma, double dAlpha, double dSigma) {}

  /** Coefficients at time {@code t} in [0, 1]. */
  Coeffs at(double t);

  /** The config name of this interpolant. */
  String name();

  /** CondOT: {@code alpha = 1 - t}, {@code sigma = t}; what FLUX was trained on. */
  record Linear() implements Interpolant {
    @Override
    public Coeffs at(double t) {
      Checks.time("t", t);
      return new Coeffs(1 - t, t, -1, 1);
    }

    /** Maps a signal-to-noise ratio {@code rho = alpha / sigma} back to the time that has it. */
    public double snrInverse(double rho) {
      if (!(rho >= 0) || Double.isInfinite(rho) && rho < 0) {
        throw new IllegalArgumentException("rho must be a non-negative number, got " + rho);
      }
      return Double.isInfinite(rho) ? 0.0 : 1.0 / (rho + 1.0);
    }

    @Override
    public String name() {
      return "linear";
    }
  }

  /**
   * Variance preserving: {@code alpha = exp(-T/2)}, {@code sigma = sqrt(1 - exp(-T))}, {@code T(t)
   * = t^2 (bmax - bmin) / 2 + t bmin}.
   */
  record Vp(double betaMin, double betaMax) implements Interpolant {
    public static final double DEFAULT_BETA_MIN = 0.1;
    public static final double DEFAULT_BETA_MAX = 20.0;

    public Vp {
      if (!(betaMin > 0) || !Double.isFinite(betaMin)) {
        throw new IllegalArgumentException("betaMin must be positive and finite, got " + betaMin);
      }
      if (!(betaMax >= betaMin) || !Double.isFinite(betaMax)) {
        throw new IllegalArgumentException(
            "betaMax must be finite and >= betaMin (" + betaMin + "), got " + betaMax);
      }
    }

    public Vp() {
      this(DEFAULT_BETA_MIN, DEFAULT_BETA_MAX);
    }

    @Override
    public Coeffs at(double t) {
      Checks.time("t", t);
      double bigT = t * t * (betaMax - betaMin) / 2 + t * betaMin;
      double dBigT = t * (betaMax - betaMin) + betaMin;
      double alpha = Math.exp(-bigT / 2);
      double expNeg = Math.exp(-bigT);
      // -expm1(-T) = 1 - exp(-T) without cancellation near t = 0.
      double sigma = Math.sqrt(-Math.expm1(-bigT));
      double dAlpha = -dBigT * alpha / 2;
      double dSigma = sigma == 0 ? Double.POSITIVE_INFINITY : dBigT * expNeg / (2 * sigma);
      return new Coeffs(alpha, sigma, dAlpha, dSigma);
    }

    @Override
    public String name() {
      return "vp";
    }
  }

  /** {@code alpha = (1 - t)^n}, {@code sigma = 1 - (1 - t)^n}. */
  record Polynomial(double n) implements Interpolant {
    public Polynomial {
      if (!(n > 0) || !Double.isFinite(n)) {
        throw new IllegalArgumentException("polynomial degree n must be positive, got " + n);
      }
    }

    @Override
    public Coeffs at(double t) {
      Checks.time("t", t);
      double s = 1 - t;
      double pn = Math.pow(s, n);
      double dpn = n * Math.pow(s, n - 1);
      return new Coeffs(pn, 1 - pn, -dpn, dpn);
    }

    @Override
    public String name() {
      return "polynomial";
    }
  }

  /** Looks an interpolant up by its config name: {@code linear}, {@code vp}, {@code polynomial}. */
  static Interpolant byName(String name) {
    if (name == null) {
      throw new IllegalArgumentException("interpolant name must not be null");
    }
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "linear" -> new Linear();
      case "vp" -> new Vp();
      case "polynomial" -> new Polynomial(2);
      default ->
          throw new IllegalArgumentException(
              "unknown interpolant '" + name + "': expected one of linear, vp, polynomial");
    };
  }
}
