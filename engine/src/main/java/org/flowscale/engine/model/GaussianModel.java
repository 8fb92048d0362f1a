package org.flowscale.engine.model;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.math.Checks;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * The exact linear-interpolant velocity of Gaussian data {@code x0 ~ N(m, v I)}: with {@code x = (1
 * - t) x0 + t eps} and {@code V = (1 - t)^2 v + t^2}, {@code E[x0 | x] = m + (1 - t) v (x - (1 - t)
 * m) / V} and {@code E[eps | x] = t (x - (1 - t) m) / V}. The smallest model whose right answers
 * are known in closed form; used to test samplers and search algorithms.
 */
public final class GaussianModel implements VelocityModel {
  private final float[] mean;
  private final double variance;

  /** Data {@code N(mean, variance I)}. */
  public GaussianModel(float[] mean, double variance) {
    if (mean == null || mean.length == 0) {
      throw new IllegalArgumentException("mean must have at least one value");
    }
    this.mean = mean.clone();
    this.variance = Checks.positive("variance", variance);
  }

  @Override
  public int dim() {
    return mean.length;
  }

  /** The data variance. */
  public double variance() {
    return variance;
  }

  /** A copy of the data mean. */
  public float[] mean() {
    return mean.clone();
  }

  /** Coefficients (k, km) with {@code u = k x + km m}. */
  private double[] coeffs(double t) {
    Checks.time("t", t);
    double a = 1 - t;
    double bigV = a * a * variance + t * t;
    double k = (t - a * variance) / bigV;
    // u = t (x - a m)/V - m - a v (x - a m)/V  =>  coefficient of m:
    double km = -k * a - 1;
    return new double[] {k, km};
  }

  @Override
  public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
    apply(ops, x, t, null, out);
  }

  @Override
  public boolean hasVjp() {
    return true;
  }

  @Override
  public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    apply(ops, x, t, v, out);
  }

  /** With v null: the velocity; else {@code (du/dx)^T v = k v} (the Jacobian is {@code k I}). */
  private void apply(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    int n = x.rows();
    if (x.cols() != mean.length || out.rows() != n || out.cols() != mean.length) {
      throw new IllegalArgumentException(
          "x and out must be [n x " + mean.length + "], got x " + x.rows() + "x" + x.cols());
    }
    TensorChecks.column(t, DType.F64, n, "t");
    if (x.dtype() != DType.F32 || out.dtype() != DType.F32) {
      throw new IllegalArgumentException("GaussianModel works on F32 tensors");
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment xs = arena.allocate(x.byteSize(), 8);
      MemorySegment ts = arena.allocate(t.byteSize(), 8);
      ops.download(v == null ? x : v, xs);
      ops.download(t, ts);
      for (int i = 0; i < n; i++) {
        double[] k = coeffs(ts.getAtIndex(JAVA_DOUBLE, i));
        for (int j = 0; j < mean.length; j++) {
          long idx = (long) i * mean.length + j;
          double xv = xs.getAtIndex(JAVA_FLOAT, idx);
          double r = v == null ? k[0] * xv + k[1] * mean[j] : k[0] * xv;
          xs.setAtIndex(JAVA_FLOAT, idx, (float) r);
        }
      }
      ops.upload(xs, out);
    }
  }
}
