package org.flowscale.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.testing.HostTensors;
import org.junit.jupiter.api.Test;

/** The oracle model of the sampler tests, against E[eps - x0 | x] written out independently. */
class GaussianModelTest {
  private static final float[] MEAN = {0.5f, -1.25f, 2f};
  private static final double VAR = 0.3;

  /** E[eps - x0 | x] for x = (1 - t) x0 + t eps, x0 ~ N(m, v): Gaussian conditioning. */
  private static double velocity(double t, double m, double x) {
    double a = 1 - t;
    double var = a * a * VAR + t * t;
    double x0 = m + a * VAR * (x - a * m) / var;
    double eps = t * (x - a * m) / var;
    return eps - x0;
  }

  @Test
  void velocityAndVjpPerRowTime() {
    try (ParticleOps ops = new CpuParticleOps()) {
      GaussianModel model = new GaussianModel(MEAN, VAR);
      double[] times = {1, 0.5, 0.01, 0};
      float[] x = {0.3f, -2f, 1f, 1.5f, 0f, -0.5f, 0.25f, 0.75f, 3f, -1f, 2f, 0.1f};
      float[] v = {1f, -2f, 0.5f, 0f, 1f, 1f, 3f, -1f, 0.2f, 2f, 2f, 2f};
      try (Tensor xt = HostTensors.floats(ops, 4, 3, x);
          Tensor vt = HostTensors.floats(ops, 4, 3, v);
          Tensor tt = HostTensors.doubles(ops, 4, 1, times);
          Tensor out = ops.allocate(4, 3, DType.F32)) {
        model.velocity(ops, xt, tt, out);
        float[] u = HostTensors.floats(ops, out);
        model.velocityVjp(ops, xt, tt, vt, out);
        float[] vjp = HostTensors.floats(ops, out);
        for (int i = 0; i < 4; i++) {
          double t = times[i];
          for (int j = 0; j < 3; j++) {
            int k = i * 3 + j;
            assertEquals(velocity(t, MEAN[j], x[k]), u[k], 1e-5, "u row " + i + " col " + j);
            // The Jacobian is diagonal: d u_j / d x_j by central difference.
            double h = 1e-4;
            double slope =
                (velocity(t, MEAN[j], x[k] + h) - velocity(t, MEAN[j], x[k] - h)) / (2 * h);
            assertEquals(slope * v[k], vjp[k], 1e-4, "vjp row " + i + " col " + j);
          }
        }
      }
    }
  }

  @Test
  void refusesBadShapesAndArguments() {
    GaussianModel model = new GaussianModel(MEAN, VAR);
    assertEquals(3, model.dim());
    assertTrue(model.hasVjp());
    var e = assertThrows(IllegalArgumentException.class, () -> new GaussianModel(MEAN, 0));
    assertTrue(e.getMessage().contains("variance"), e.getMessage());
    try (ParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(2, 4, DType.F32);
        Tensor t = ops.allocate(2, 1, DType.F64);
        Tensor out = ops.allocate(2, 4, DType.F32)) {
      e = assertThrows(IllegalArgumentException.class, () -> model.velocity(ops, x, t, out));
      assertTrue(e.getMessage().contains("[n x 3]"), e.getMessage());
    }
  }
}
