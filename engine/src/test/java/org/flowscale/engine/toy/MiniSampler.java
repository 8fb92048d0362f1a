package org.flowscale.engine.toy;

import org.flowscale.engine.math.Affine;
import org.flowscale.engine.math.Conversion;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;

/**
 * The smallest sampler over the engine's pieces, as a search algorithm would drive them: per step,
 * scale the state into the model's coordinates, one velocity per particle, then the scheme's fused
 * affine step (with noise for an SDE).
 */
final class MiniSampler {
  private MiniSampler() {}

  /** {@code n} samples from noise at {@code grid[0]} down to {@code grid[last]}, row-major. */
  static float[] sample(
      VelocityModel model, SamplingScheme scheme, double[] grid, int n, long seed) {
    int d = model.dim();
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(n, d, DType.F32);
        Tensor in = ops.allocate(n, d, DType.F32);
        Tensor u = ops.allocate(n, d, DType.F32);
        Tensor t = ops.allocate(n, 1, DType.F64);
        Tensor coef = ops.allocate(n, 3, DType.F64)) {
      ops.gaussian(new Noise(seed, 0, null), x);
      for (int i = 0; i + 1 < grid.length; i++) {
        double r = grid[i];
        Conversion cv = scheme.conversion(r);
        fill(ops, coef, n, new Affine(cv.inputScale(), 0, 0));
        ops.affine(x, null, coef, null, in);
        double[] times = new double[n];
        java.util.Arrays.fill(times, cv.modelTime());
        HostIo.writeDoubles(ops, times, t);
        model.velocity(ops, in, t, u);
        Affine step = scheme.step(r, r - grid[i + 1]);
        fill(ops, coef, n, step);
        ops.affine(x, u, coef, step.z() == 0 ? null : new Noise(seed, i + 1, null), x);
      }
      return HostIo.readFloats(ops, x);
    }
  }

  private static void fill(CpuParticleOps ops, Tensor coef, int n, Affine a) {
    double[] c = new double[3 * n];
    for (int i = 0; i < n; i++) {
      c[3 * i] = a.x();
      c[3 * i + 1] = a.u();
      c[3 * i + 2] = a.z();
    }
    HostIo.writeDoubles(ops, c, coef);
  }
}
