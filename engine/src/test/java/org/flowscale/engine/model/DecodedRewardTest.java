package org.flowscale.engine.model;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.testing.HostTensors;
import org.junit.jupiter.api.Test;

/**
 * {@link DecodedReward} scores decoded images in {@code reward_batch_size} chunks, and chains the
 * image reward's gradient through the decoder's VJP: chunked, whole and hand-computed answers
 * agree; {@link GuidedVelocity} is {@code u_neg + s (u_pos - u_neg)}, and so is its VJP.
 */
class DecodedRewardTest {
  private static final int LATENT = 3;
  private static final int SIDE = 2; // 2x2 RGB images: 12 values
  private static final int IMAGE = SIDE * SIDE * 3;

  /** image = A z (a linear decoder); records the batch sizes it was called with. */
  static class LinearDecoder implements SampleDecoder {
    final double[][] a = new double[IMAGE][LATENT];
    final List<Integer> calls = new ArrayList<>();

    LinearDecoder() {
      SplittableRandom r = new SplittableRandom(7);
      for (double[] row : a) {
        for (int j = 0; j < LATENT; j++) {
          row[j] = r.nextDouble(-1, 1);
        }
      }
    }

    @Override
    public SampleSpace imageSpace() {
      return SampleDecoder.images(SIDE, SIDE);
    }

    @Override
    public void decode(ParticleOps ops, Tensor latents, Tensor images) {
      calls.add(latents.rows());
      float[] z = HostTensors.floats(ops, latents);
      float[] img = new float[latents.rows() * IMAGE];
      for (int n = 0; n < latents.rows(); n++) {
        for (int i = 0; i < IMAGE; i++) {
          double s = 0;
          for (int j = 0; j < LATENT; j++) {
            s += a[i][j] * z[n * LATENT + j];
          }
          img[n * IMAGE + i] = (float) s;
        }
      }
      write(ops, img, images);
    }

    @Override
    public boolean hasVjp() {
      return true;
    }

    @Override
    public void decodeVjp(ParticleOps ops, Tensor latents, Tensor gImages, Tensor out) {
      float[] g = HostTensors.floats(ops, gImages);
      float[] o = new float[latents.rows() * LATENT];
      for (int n = 0; n < latents.rows(); n++) {
        for (int j = 0; j < LATENT; j++) {
          double s = 0;
          for (int i = 0; i < IMAGE; i++) {
            s += a[i][j] * g[n * IMAGE + i];
          }
          o[n * LATENT + j] = (float) s;
        }
      }
      write(ops, o, out);
    }
  }

  /** score = sum_i w_i img_i + its row index's sum of squares (rows must not mix). */
  static final class LinearImageReward implements Reward {
    final double[] w = new double[IMAGE];

    LinearImageReward() {
      for (int i = 0; i < IMAGE; i++) {
        w[i] = 0.1 * (i + 1) * (i % 2 == 0 ? 1 : -1);
      }
    }

    double of(double[] img) {
      double s = 0;
      for (int i = 0; i < IMAGE; i++) {
        s += w[i] * img[i] + 0.5 * img[i] * img[i];
      }
      return s;
    }

    @Override
    public String name() {
      return "linear";
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      assertEquals(IMAGE, x0.cols(), "the reward sees decoded images");
      float[] x = HostTensors.floats(ops, x0);
      try (Arena a = Arena.ofConfined()) {
        MemorySegment s = a.allocate(JAVA_DOUBLE, x0.rows());
        for (int n = 0; n < x0.rows(); n++) {
          double[] img = new double[IMAGE];
          for (int i = 0; i < IMAGE; i++) {
            img[i] = x[n * IMAGE + i];
          }
          s.setAtIndex(JAVA_DOUBLE, n, of(img));
        }
        ops.upload(s, out);
      }
    }

    @Override
    public boolean differentiable() {
      return true;
    }

    @Override
    public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
      score(ops, x0, outScores);
      float[] x = HostTensors.floats(ops, x0);
      float[] g = new float[x.length];
      for (int k = 0; k < x.length; k++) {
        g[k] = (float) (w[k % IMAGE] + x[k]);
      }
      write(ops, g, outGrad);
    }
  }

  private static void write(ParticleOps ops, float[] v, Tensor t) {
    try (Arena a = Arena.ofConfined()) {
      ops.upload(a.allocateFrom(JAVA_FLOAT, v), t);
    }
  }

  private static float[] latents(int n) {
    SplittableRandom r = new SplittableRandom(11);
    float[] z = new float[n * LATENT];
    for (int i = 0; i < z.length; i++) {
      z[i] = (float) r.nextDouble(-1, 1);
    }
    return z;
  }

  @Test
  void chunkedScoresAndGradientsEqualTheWholeBatchAndTheHandComputedOnes() {
    int n = 7;
    float[] z = latents(n);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      double[][] scores = new double[2][];
      float[][] grads = new float[2][];
      int[] batches = {3, 16};
      for (int b = 0; b < 2; b++) {
        LinearDecoder dec = new LinearDecoder();
        LinearImageReward img = new LinearImageReward();
        DecodedReward r = new DecodedReward(dec, img, LATENT, batches[b]);
        assertTrue(r.differentiable());
        try (Tensor x = ops.allocate(n, LATENT, DType.F32);
            Tensor s = ops.allocate(n, 1, DType.F64);
            Tensor s2 = ops.allocate(n, 1, DType.F64);
            Tensor g = ops.allocate(n, LATENT, DType.F32)) {
          write(ops, z, x);
          r.score(ops, x, s);
          scores[b] = HostTensors.doubles(ops, s);
          r.gradient(ops, x, s2, g);
          grads[b] = HostTensors.floats(ops, g);
          assertEquals(
              java.util.Arrays.toString(scores[b]),
              java.util.Arrays.toString(HostTensors.doubles(ops, s2)));
        }
        if (batches[b] == 3) {
          // 7 particles at 3 a time: 3 + 3 + 1, for the scores and again for the gradient
          assertEquals(List.of(3, 3, 1, 3, 3, 1), dec.calls);
        } else {
          assertEquals(List.of(7, 7), dec.calls);
        }
      }
      // by hand: score(A z), and A^T (w + A z)
      LinearDecoder dec = new LinearDecoder();
      LinearImageReward img = new LinearImageReward();
      for (int p = 0; p < n; p++) {
        double[] image = new double[IMAGE];
        for (int i = 0; i < IMAGE; i++) {
          for (int j = 0; j < LATENT; j++) {
            image[i] += dec.a[i][j] * z[p * LATENT + j];
          }
        }
        double want = img.of(image);
        for (int b = 0; b < 2; b++) {
          assertEquals(want, scores[b][p], 1e-5, "particle " + p + ", batch " + batches[b]);
        }
        for (int j = 0; j < LATENT; j++) {
          double g = 0;
          for (int i = 0; i < IMAGE; i++) {
            g += dec.a[i][j] * (img.w[i] + (float) image[i]);
          }
          for (int b = 0; b < 2; b++) {
            assertEquals(g, grads[b][p * LATENT + j], 1e-4, "gradient " + p + "," + j);
          }
        }
      }
    }
  }

  @Test
  void aRewardWithoutGradientOrADecoderWithoutVjpIsNotDifferentiable() {
    LinearDecoder noVjp =
        new LinearDecoder() {
          @Override
          public boolean hasVjp() {
            return false;
          }
        };
    DecodedReward r = new DecodedReward(noVjp, new LinearImageReward(), LATENT, 4);
    assertFalse(r.differentiable());
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(2, LATENT, DType.F32);
        Tensor s = ops.allocate(2, 1, DType.F64);
        Tensor g = ops.allocate(2, LATENT, DType.F32);
        Tensor bad = ops.allocate(2, 5, DType.F32)) {
      var e = assertThrows(UnsupportedOperationException.class, () -> r.gradient(ops, x, s, g));
      assertTrue(e.getMessage().contains("through this model's decoder"), e.getMessage());
      var w = assertThrows(IllegalArgumentException.class, () -> r.score(ops, bad, s));
      assertTrue(w.getMessage().contains("latents must have 3 columns"), w.getMessage());
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> new DecodedReward(new LinearDecoder(), new LinearImageReward(), LATENT, 0));
  }

  /** u(x) = c x (its VJP c v), for classifier-free guidance. */
  record Scaled(double c) implements VelocityModel {
    @Override
    public int dim() {
      return LATENT;
    }

    @Override
    public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
      float[] v = HostTensors.floats(ops, x);
      for (int i = 0; i < v.length; i++) {
        v[i] *= (float) c;
      }
      write(ops, v, out);
    }

    @Override
    public boolean hasVjp() {
      return true;
    }

    @Override
    public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
      velocity(ops, v, t, out);
    }
  }

  @Test
  void guidedVelocityIsNegativePlusScaleTimesTheDifferenceAndCostsTwoNfe() {
    GuidedVelocity g = new GuidedVelocity(new Scaled(2.0), new Scaled(0.5), 3.0);
    assertEquals(2, g.nfePerEvaluation());
    assertTrue(g.hasVjp());
    float[] z = latents(4);
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(4, LATENT, DType.F32);
        Tensor t = ops.allocate(4, 1, DType.F64);
        Tensor out = ops.allocate(4, LATENT, DType.F32);
        Tensor vjp = ops.allocate(4, LATENT, DType.F32)) {
      write(ops, z, x);
      g.velocity(ops, x, t, out);
      g.velocityVjp(ops, x, t, x, vjp);
      float[] u = HostTensors.floats(ops, out);
      float[] j = HostTensors.floats(ops, vjp);
      for (int i = 0; i < z.length; i++) {
        // 0.5 z + 3 (2 z - 0.5 z) = 5 z
        assertEquals(5.0 * z[i], u[i], 1e-5);
        assertEquals(5.0 * z[i], j[i], 1e-5);
      }
    }
  }
}
