package org.flowscale.engine.toy;

import java.util.stream.IntStream;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * A smooth, differentiable preference over pixels with an exact gradient (a stand-in for the LAION
 * aesthetic predictor, for DPS): it likes saturated colour near the centre of the image, dislikes
 * ragged, noisy pixels, and dislikes values outside [-1, 1]:
 *
 * <pre>
 * r(x) = mean_p w_p chroma_p  -  {@value #SMOOTH_WEIGHT} mean_(p,q,c) huber(x_pc - x_qc)
 *        -  {@value #GAMUT_WEIGHT} mean_(p,c) max(0, |x_pc| - 1)^2
 * </pre>
 *
 * with {@code chroma_p = sum_c (x_pc - mean_c x_pc)^2} (the colour variance of pixel p), {@code w_p
 * = exp(-|p - centre|^2 / (2 * 8^2))}, {@code huber(d) = sqrt(d^2 + e^2) - e} with {@code e =}
 * {@value #HUBER} over horizontally and vertically adjacent pixel pairs. Every term is continuously
 * differentiable.
 */
public final class AestheticReward extends ImageReward {
  static final double SMOOTH_WEIGHT = 0.1;
  static final double GAMUT_WEIGHT = 1.0;
  static final double HUBER = 0.1;
  private static final int S = ToyWorld.SIZE;
  private static final int C = ToyWorld.CHANNELS;
  private static final int PAIRS = 2 * S * (S - 1) * C;
  private static final double[] CENTRE = centreWeights();

  private static double[] centreWeights() {
    double[] w = new double[S * S];
    double mid = (S - 1) / 2.0;
    for (int y = 0; y < S; y++) {
      for (int x = 0; x < S; x++) {
        double dx = x - mid;
        double dy = y - mid;
        w[y * S + x] = Math.exp(-(dx * dx + dy * dy) / (2 * 8.0 * 8.0));
      }
    }
    return w;
  }

  @Override
  public String name() {
    return "aesthetic";
  }

  @Override
  public boolean differentiable() {
    return true;
  }

  @Override
  double scoreImage(float[] x, int offset) {
    return evaluate(x, offset, null, 0);
  }

  @Override
  public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
    int n = rows(x0);
    TensorChecks.column(outScores, DType.F64, n, "outScores");
    HostIo.requireFloat(outGrad, "outGrad", n, ToyWorld.DIM);
    float[] xs = HostIo.readFloats(ops, x0);
    double[] scores = new double[n];
    float[] grad = new float[xs.length];
    IntStream.range(0, n)
        .parallel()
        .forEach(
            i -> {
              double[] g = new double[ToyWorld.DIM];
              scores[i] = evaluate(xs, i * ToyWorld.DIM, g, 0);
              for (int j = 0; j < g.length; j++) {
                grad[i * ToyWorld.DIM + j] = (float) g[j];
              }
            });
    HostIo.writeDoubles(ops, scores, outScores);
    HostIo.writeFloats(ops, grad, outGrad);
  }

  /** The reward of one image; adds its gradient into {@code grad} at {@code go} when not null. */
  static double evaluate(float[] x, int xo, double[] grad, int go) {
    int pixels = S * S;
    double chroma = 0;
    for (int p = 0; p < pixels; p++) {
      int b = xo + p * C;
      double mean = (x[b] + x[b + 1] + x[b + 2]) / 3.0;
      for (int c = 0; c < C; c++) {
        double e = x[b + c] - mean;
        chroma += CENTRE[p] * e * e;
        if (grad != null) {
          // d/dx_c sum_c' (x_c' - mean)^2 = 2 (x_c - mean): the mean's own terms sum to zero.
          grad[go + p * C + c] += 2 * CENTRE[p] * e / pixels;
        }
      }
    }
    double smooth = 0;
    for (int y = 0; y < S; y++) {
      for (int xx = 0; xx < S; xx++) {
        int p = y * S + xx;
        if (xx + 1 < S) {
          smooth += pair(x, xo, p, p + 1, grad, go);
        }
        if (y + 1 < S) {
          smooth += pair(x, xo, p, p + S, grad, go);
        }
      }
    }
    double gamut = 0;
    for (int j = 0; j < ToyWorld.DIM; j++) {
      double v = x[xo + j];
      double over = Math.abs(v) - 1;
      if (over > 0) {
        gamut += over * over;
        if (grad != null) {
          grad[go + j] -= GAMUT_WEIGHT * 2 * over * Math.signum(v) / ToyWorld.DIM;
        }
      }
    }
    return chroma / pixels - SMOOTH_WEIGHT * smooth / PAIRS - GAMUT_WEIGHT * gamut / ToyWorld.DIM;
  }

  /** The Huber terms of one pixel pair over the channels; their gradient goes into grad. */
  private static double pair(float[] x, int xo, int p, int q, double[] grad, int go) {
    double s = 0;
    for (int c = 0; c < C; c++) {
      double d = x[xo + p * C + c] - x[xo + q * C + c];
      double r = Math.sqrt(d * d + HUBER * HUBER);
      s += r - HUBER;
      if (grad != null) {
        double g = SMOOTH_WEIGHT * (d / r) / PAIRS;
        grad[go + p * C + c] -= g;
        grad[go + q * C + c] += g;
      }
    }
    return s;
  }
}
