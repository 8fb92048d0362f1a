package org.flowscale.engine.math;

/**
 * Sampling in the coordinates of one interpolant with a model trained on the linear one (MATH.md
 * section 2). For a state {@code xb} at sampling time {@code r} the model is queried at {@code xb /
 * c} and model time {@code t}, and the velocity in sampling coordinates is {@code u_r = (dc/c) xb +
 * dt c u_t(xb / c)}.
 *
 * @param modelTime the model's time {@code t} for sampling time {@code r}
 * @param c the scale {@code s_r / s_t} between the two paths
 * @param dtdr {@code dt/dr}
 * @param dcdr {@code dc/dr}
 */
public record Conversion(double modelTime, double c, double dtdr, double dcdr) {

  /** The identity: sampling on the model's own interpolant. */
  public static Conversion identity(double t) {
    return new Conversion(t, 1, 1, 0);
  }

  /** Conversion coefficients at sampling time {@code r} from {@code target} to a linear model. */
  public static Conversion toLinear(Interpolant target, double r) {
    Checks.time("r", r);
    if (r == 0) {
      throw new IllegalArgumentException(
          "r must be > 0 for an interpolant conversion: both paths are singular at r = 0");
    }
    Interpolant.Linear linear = new Interpolant.Linear();
    Interpolant.Coeffs n = target.at(r);
    double t = linear.snrInverse(n.alpha() / n.sigma());
    Interpolant.Coeffs m = linear.at(t);
    double c = n.sigma() / m.sigma();
    double dt =
        m.sigma()
            * m.sigma()
            * (n.sigma() * n.dAlpha() - n.alpha() * n.dSigma())
            / (n.sigma() * n.sigma() * (m.sigma() * m.dAlpha() - m.alpha() * m.dSigma()));
    double dc = (m.sigma() * n.dSigma() - n.sigma() * m.dSigma() * dt) / (m.sigma() * m.sigma());
    return new Conversion(t, c, dt, dc);
  }

  /** Coefficient of the state in the converted velocity: {@code dc / c}. */
  public double stateCoeff() {
    return dcdr / c;
  }

  /** Coefficient of the model's velocity in the converted velocity: {@code dt c}. */
  public double velocityCoeff() {
    return dtdr * c;
  }

  /** The scale applied to the state before it is given to the model: {@code 1 / c}. */
  public double inputScale() {
    return 1 / c;
  }
}
