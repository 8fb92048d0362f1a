package org.flowscale.engine.model;

import java.util.Optional;
import org.flowscale.engine.math.Affine;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Classifier-free guidance, the reference pipeline's "true CFG": {@code u = u_neg + s (u_pos -
 * u_neg)} with {@code u_pos} the velocity under the prompt and {@code u_neg} under the negative
 * prompt (the empty prompt when none is given), {@code s} = {@code cfg_scale}. Both velocities are
 * evaluated for every row, so one evaluation costs two NFE ({@link #nfePerEvaluation()}), and every
 * search budget counts it so. Its VJP is {@code (1 - s) J_neg^T v + s J_pos^T v} (two backward
 * passes). FLUX.1-dev's distilled {@code guidance_scale} is another thing: an input of the model.
 *
 * <p>Owns both conditioned models: closing it closes them.
 */
public final class GuidedVelocity implements VelocityModel {
  private final VelocityModel positive;
  private final VelocityModel negative;
  private final double scale;

  /**
   * @param positive the velocity under the prompt
   * @param negative the velocity under the negative prompt; same shape
   * @param scale {@code cfg_scale}, finite
   */
  public GuidedVelocity(VelocityModel positive, VelocityModel negative, double scale) {
    if (positive == null || negative == null) {
      throw new IllegalArgumentException("both conditioned models must be given");
    }
    if (positive.dim() != negative.dim()) {
      throw new IllegalArgumentException(
          "the two velocities differ in size: " + positive.dim() + " vs " + negative.dim());
    }
    if (!Double.isFinite(scale)) {
      throw new IllegalArgumentException("cfg_scale must be finite, got " + scale);
    }
    this.positive = positive;
    this.negative = negative;
    this.scale = scale;
  }

  /** {@code cfg_scale}. */
  public double scale() {
    return scale;
  }

  @Override
  public int dim() {
    return positive.dim();
  }

  @Override
  public long[] shape() {
    return positive.shape();
  }

  @Override
  public int timeShiftTokens() {
    return positive.timeShiftTokens();
  }

  @Override
  public Optional<ImageDecoder> imageDecoder() {
    return positive.imageDecoder();
  }

  @Override
  public Optional<SampleDecoder> decoder() {
    return positive.decoder();
  }

  /** Two: a conditional and a negative velocity per row. */
  @Override
  public int nfePerEvaluation() {
    return positive.nfePerEvaluation() + negative.nfePerEvaluation();
  }

  @Override
  public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
    try (Tensor neg = ops.allocate(out.rows(), out.cols(), out.dtype())) {
      positive.velocity(ops, x, t, out);
      negative.velocity(ops, x, t, neg);
      combine(ops, neg, out, out);
    }
  }

  @Override
  public boolean hasVjp() {
    return positive.hasVjp() && negative.hasVjp();
  }

  @Override
  public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    try (Tensor neg = ops.allocate(out.rows(), out.cols(), out.dtype())) {
      positive.velocityVjp(ops, x, t, v, out);
      negative.velocityVjp(ops, x, t, v, neg);
      combine(ops, neg, out, out);
    }
  }

  /** {@code out = (1 - s) neg + s pos}, one fused affine pass per row. */
  private void combine(ParticleOps ops, Tensor neg, Tensor pos, Tensor out) {
    int n = out.rows();
    try (Tensor coef = ops.allocate(n, 3, DType.F64);
        java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
      var s = a.allocate(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * n);
      Affine c = new Affine(1 - scale, scale, 0);
      for (int i = 0; i < n; i++) {
        s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * i, c.x());
        s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * i + 1, c.u());
        s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * i + 2, c.z());
      }
      ops.upload(s, coef);
      ops.affine(neg, pos, coef, null, out);
    }
  }

  @Override
  public void close() {
    try {
      positive.close();
    } finally {
      negative.close();
    }
  }

  @Override
  public String toString() {
    return "GuidedVelocity[cfg_scale " + scale + ", " + positive + "]";
  }
}
