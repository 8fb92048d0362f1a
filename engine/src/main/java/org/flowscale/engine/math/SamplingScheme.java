package org.flowscale.engine.math;

/**
 * How a linear flow model is sampled: the sampling interpolant (the model's own, or VP through a
 * conversion), ODE or SDE, and the diffusion. Turns times into the {@link Affine} coefficients that
 * the particle operations apply, in terms of the sampling state and the <em>raw</em> model
 * velocity, so the conversion, score, drift and noise fuse into one pass (MATH.md sections 2-4).
 *
 * @param sampling the interpolant whose coordinates the sampler works in
 * @param convert whether {@code sampling} differs from the model's linear interpolant (conversion
 *     on)
 * @param sde stochastic (SDE) or deterministic (ODE) steps
 * @param diffusion the shape of {@code g(r)}
 * @param diffusionNorm the scale of {@code g(r)}
 * @param expSigma the width of {@link DiffusionCoefficient#EXP}
 */
public record SamplingScheme(
    Interpolant sampling,
    boolean convert,
    boolean sde,
    DiffusionCoefficient diffusion,
    double diffusionNorm,
    double expSigma) {

  public SamplingScheme {
    if (sampling == null || diffusion == null) {
      throw new IllegalArgumentException("sampling interpolant and diffusion must not be null");
    }
    if (!convert && !(sampling instanceof Interpolant.Linear)) {
      throw new IllegalArgumentException(
          "sampling interpolant '"
              + sampling.name()
              + "' differs from the model's linear one: set convert_scheduler");
    }
    Checks.nonNegative("diffusion_norm", diffusionNorm);
    Checks.positive("exp_diff_coeff_sigma", expSigma);
    if (convert) {
      // Every run starts at r = 1; a path whose speed is infinite there (polynomial n < 1) has no
      // first step.
      Conversion cv = Conversion.toLinear(sampling, 1);
      if (!Double.isFinite(cv.stateCoeff()) || !Double.isFinite(cv.velocityCoeff())) {
        throw new IllegalArgumentException(
            "sampling interpolant "
                + describe(sampling)
                + " moves infinitely fast at t = 1, where sampling starts"
                + (sampling instanceof Interpolant.Polynomial ? "; use scheduler_n >= 1" : ""));
      }
    }
  }

  private static String describe(Interpolant i) {
    return i instanceof Interpolant.Polynomial p ? "polynomial(" + p.n() + ")" : i.name();
  }

  /** Linear ODE: the model's own sampler. */
  public static SamplingScheme linearOde() {
    return new SamplingScheme(
        new Interpolant.Linear(),
        false,
        false,
        DiffusionCoefficient.SQUARE,
        0,
        DiffusionCoefficient.DEFAULT_EXP_SIGMA);
  }

  /** Linear SDE with the given diffusion. */
  public static SamplingScheme linearSde(DiffusionCoefficient diffusion, double norm) {
    return new SamplingScheme(
        new Interpolant.Linear(),
        false,
        true,
        diffusion,
        norm,
        DiffusionCoefficient.DEFAULT_EXP_SIGMA);
  }

  /**
   * Sampling on {@code polynomial(n)} through the conversion (the reference's {@code
   * convert_scheduler: polynomial} with {@code scheduler_n = n}), ODE or SDE.
   */
  public static SamplingScheme polynomial(
      double n, boolean sde, DiffusionCoefficient diffusion, double norm) {
    return new SamplingScheme(
        new Interpolant.Polynomial(n),
        true,
        sde,
        diffusion,
        norm,
        DiffusionCoefficient.DEFAULT_EXP_SIGMA);
  }

  /** VP-SDE through the conversion: the paper's setting is {@code square}, norm 3. */
  public static SamplingScheme vpSde(DiffusionCoefficient diffusion, double norm) {
    return new SamplingScheme(
        new Interpolant.Vp(), true, true, diffusion, norm, DiffusionCoefficient.DEFAULT_EXP_SIGMA);
  }

  /** This scheme with deterministic (ODE) steps: the same interpolant and conversion. */
  public SamplingScheme ode() {
    return sde
        ? new SamplingScheme(sampling, convert, false, diffusion, diffusionNorm, expSigma)
        : this;
  }

  /**
   * The forward transition of the sampling interpolant from time {@code s} to a noisier time {@code
   * f >= s} (MATH.md section 6a): {@code x_f = (a_f / a_s) x_s + sqrt(s_f^2 - (a_f / a_s)^2 s_s^2)
   * z}, so a sample of {@code p_s} becomes one of {@code p_f}. Needs {@code s < 1} (where {@code
   * a_s > 0}).
   */
  public Affine forward(double s, double f) {
    Checks.time("s", s);
    Checks.time("f", f);
    if (!(f >= s) || s >= 1) {
      throw new IllegalArgumentException(
          "a forward transition goes from s < 1 to f >= s, got s " + s + ", f " + f);
    }
    Interpolant.Coeffs from = sampling.at(s);
    Interpolant.Coeffs to = sampling.at(f);
    double ratio = to.alpha() / from.alpha();
    double var = to.sigma() * to.sigma() - ratio * ratio * from.sigma() * from.sigma();
    // var >= 0 in exact arithmetic (the path's SNR falls with time); rounding can dip below.
    return new Affine(ratio, 0, Math.sqrt(Math.max(0, var)));
  }

  /** The conversion at sampling time {@code r} (the identity when conversion is off). */
  public Conversion conversion(double r) {
    return convert ? Conversion.toLinear(sampling, r) : Conversion.identity(Checks.time("r", r));
  }

  /** Velocity in sampling coordinates: {@code u_r = x * xb + u * u_model}. */
  public Affine velocity(double r) {
    Conversion cv = conversion(r);
    return new Affine(cv.stateCoeff(), cv.velocityCoeff(), 0);
  }

  /**
   * Tweedie estimate {@code x0_hat = (sigma u - ds x) / (da sigma - ds alpha)}, over raw u.
   *
   * <p>Where the sampling path stands still ({@code alpha = da = ds = 0}: {@code polynomial(n > 1)}
   * at {@code r = 1}) that is 0/0; its limit is the model's own estimate at the matching time,
   * {@code x / c - t u} (both paths share {@code x0} and {@code xb = c x_t}).
   */
  public Affine tweedie(double r) {
    Interpolant.Coeffs k = sampling.at(Checks.time("r", r));
    double den = k.dAlpha() * k.sigma() - k.dSigma() * k.alpha();
    if (den == 0 && convert) {
      Conversion cv = conversion(r);
      return new Affine(cv.inputScale(), -cv.modelTime(), 0);
    }
    return compose(new Affine(-k.dSigma() / den, k.sigma() / den, 0), velocity(r));
  }

  /**
   * Score {@code (rho u - x) / var} with {@code rho = alpha / da}, {@code var = sigma^2 - rho ds
   * sigma}, over raw u.
   *
   * <p>Where the sampling path stands still ({@code alpha = da = 0}: {@code polynomial(n > 1)} at
   * {@code r = 1}) {@code rho} is 0/0; the limit is the model's linear score at the matching time
   * mapped back, {@code (1 / c) score_t(x / c)}.
   */
  public Affine score(double r) {
    Interpolant.Coeffs k = sampling.at(Checks.time("r", r));
    if (k.dAlpha() == 0 && convert) {
      Conversion cv = conversion(r);
      double t = cv.modelTime();
      double c = cv.c();
      // Linear at t: rho = -(1 - t), var = t; score_t = (rho u - x_t) / var with x_t = x / c.
      return new Affine(-1 / (c * c * t), -(1 - t) / (c * t), 0);
    }
    double rho = k.alpha() / k.dAlpha();
    double var = k.sigma() * k.sigma() - rho * k.dSigma() * k.sigma();
    return compose(new Affine(-1 / var, rho / var, 0), velocity(r));
  }

  /** {@code g(r)}: zero for the ODE. */
  public double diffusion(double r) {
    Checks.time("r", r);
    if (!sde) {
      return 0;
    }
    return diffusionNorm * diffusion.value(r, sampling.at(r).sigma(), expSigma);
  }

  /**
   * One reverse-time step from {@code r} to {@code r - d}: ODE {@code x' = x - u d}; SDE {@code x'
   * = x + (-u + g^2 score / 2) d + g sqrt(d) z}. Over raw model velocity.
   */
  public Affine step(double r, double d) {
    Checks.time("r", r);
    if (!Double.isFinite(d) || d <= 0 || d > r + 1e-12) {
      throw new IllegalArgumentException(
          "step size d must be finite, > 0 and <= r (" + r + "), got " + d);
    }
    Affine u = velocity(r);
    double g = diffusion(r);
    if (g == 0) {
      return new Affine(1 - d * u.x(), -d * u.u(), 0);
    }
    Affine s = score(r);
    double h = g * g / 2;
    return new Affine(1 + d * (-u.x() + h * s.x()), d * (-u.u() + h * s.u()), g * Math.sqrt(d));
  }

  /** {@code outer} expressed over (x, u_r) rewritten over (x, raw u) with {@code u_r = vel}. */
  private static Affine compose(Affine outer, Affine vel) {
    return new Affine(outer.x() + outer.u() * vel.x(), outer.u() * vel.u(), outer.z());
  }
}
