package org.flowscale.engine.math;

/**
 * Per-particle coefficients of {@code out = x * x + u * u + z * z}: every flow operation in the
 * engine (conversion, Tweedie, ODE and SDE steps) is an affine combination of the state {@code x},
 * the raw model velocity {@code u} and a Gaussian draw {@code z}, so one fused kernel applies them.
 * Computed in double, applied in float.
 */
public record Affine(double x, double u, double z) {
  public static final Affine IDENTITY = new Affine(1, 0, 0);
}
