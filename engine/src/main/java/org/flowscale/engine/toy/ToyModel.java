package org.flowscale.engine.toy;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import org.flowscale.engine.math.Checks;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * The exact linear-interpolant velocity of a mixture of isotropic Gaussians {@code sum_k pi_k
 * N(mu_k, s^2 I)}: the toy world's text-to-image model, whose right answers are known in closed
 * form.
 *
 * <p>With {@code x = a x0 + sigma eps}, {@code a = 1 - t}, {@code sigma = t} and {@code v = a^2 s^2
 * + sigma^2}, the posterior over components is {@code w_k ~ pi_k N(x; a mu_k, v I)}, computed in
 * log space from dot products ({@code |x|^2} is common to all k and drops out): {@code log w_k =
 * log pi_k + (a x.mu_k - a^2 |mu_k|^2 / 2) / v + const}. Per component {@code E[x0 | x, k] = mu_k +
 * (a s^2 / v)(x - a mu_k)} and {@code E[eps | x, k] = (sigma / v)(x - a mu_k)}, so the velocity
 * {@code u = E[eps - x0 | x]} is {@code c1 x - (c1 a + 1) m} with {@code c1 = (sigma - a s^2) / v}
 * and {@code m = sum_k w_k mu_k}.
 *
 * <p>Its Jacobian is symmetric: {@code du/dx = c1 I - (c1 a + 1)(a / v) C} with {@code C = sum_k
 * w_k mu_k mu_k^T - m m^T}, the posterior covariance of the means (the derivative of the weights,
 * {@code dw_k/dx = w_k (a / v)(mu_k - m)}, times the means, plus the linear part). The
 * vector-Jacobian product needs one more dot product per component with a non-negligible weight.
 *
 * <p>The means are stored as the background plus a sparse difference per template ({@link
 * SparseMeans}), so {@code x.mu_k = x.base + x.delta_k} and {@code m = W base + sum_k w_k delta_k}
 * cost the objects' pixels only. Rows are independent and spread over the common fork-join pool in
 * blocks of up to four rows that share each pass over the means; each row's arithmetic is the same
 * whatever the blocking, so results do not depend on the core count. Components whose posterior
 * weight is below {@value #NEGLIGIBLE} are skipped in the weighted sums (their contribution is far
 * below float resolution).
 */
public final class ToyModel implements VelocityModel {
  /**
   * Posterior weight (normalised, so the largest is at least {@code 1/K}) below which a component
   * is left out of the weighted sums.
   */
  static final double NEGLIGIBLE = 1e-16;

  private static final int BLOCK = 4;

  private final int dim;
  private final int count;
  private final float[] means;
  private final SparseMeans sparse;
  private final double[] norms;
  private final double[] logPi;
  private final double s2;
  private final double noiseStd;
  private final ToyWorld world;
  private final Prompt prompt;
  private final double beta;
  private final ThreadLocal<Scratch> scratch;

  private ToyModel(
      float[] means,
      SparseMeans sparse,
      int dim,
      double[] logPi,
      double noiseStd,
      ToyWorld world,
      Prompt prompt,
      double beta) {
    this.dim = dim;
    this.count = logPi.length;
    this.means = means;
    this.logPi = logPi;
    this.noiseStd = Checks.positive("noise_std", noiseStd);
    this.s2 = noiseStd * noiseStd;
    this.world = world;
    this.prompt = prompt;
    this.beta = beta;
    this.sparse = sparse;
    this.norms = sparse.norms;
    this.scratch = ThreadLocal.withInitial(() -> new Scratch(count, dim));
  }

  /**
   * The toy world's model conditioned on {@code prompt}: {@code pi_k ~ exp(beta * match(prompt,
   * template_k))} with {@link Prompt#match} the fraction of the prompt's facts that template k
   * satisfies; uniform when {@code prompt} is null.
   *
   * @param noiseStd the per-pixel standard deviation {@code s} of each component
   * @param beta the prompt's strength (see {@link ToyModelFactory} for the calibrated default)
   */
  public static ToyModel of(ToyWorld world, Prompt prompt, double noiseStd, double beta) {
    if (world == null) {
      throw new IllegalArgumentException("world must not be null");
    }
    Checks.nonNegative("beta", beta);
    double[] logits = new double[world.size()];
    for (int k = 0; k < logits.length; k++) {
      logits[k] = prompt == null ? 0 : beta * prompt.match(world.template(k).counts());
    }
    return new ToyModel(
        world.means(),
        world.sparse(),
        ToyWorld.DIM,
        normalise(logits),
        noiseStd,
        world,
        prompt,
        beta);
  }

  /**
   * A mixture with arbitrary means and weights (for tests of the math at small sizes).
   *
   * @param means {@code K x dim} component means
   * @param weights {@code K} positive mixture weights (normalised here)
   * @param noiseStd the per-value standard deviation {@code s}
   */
  public static ToyModel mixture(float[][] means, double[] weights, double noiseStd) {
    if (means == null || means.length == 0 || weights == null || weights.length != means.length) {
      throw new IllegalArgumentException("need K >= 1 means and K weights");
    }
    int dim = means[0].length;
    if (dim == 0) {
      throw new IllegalArgumentException("means must have at least one value");
    }
    float[] flat = new float[means.length * dim];
    double[] logits = new double[means.length];
    for (int k = 0; k < means.length; k++) {
      if (means[k].length != dim) {
        throw new IllegalArgumentException(
            "mean " + k + " has " + means[k].length + " values, mean 0 has " + dim);
      }
      System.arraycopy(means[k], 0, flat, k * dim, dim);
      logits[k] = Math.log(Checks.positive("weight " + k, weights[k]));
    }
    return new ToyModel(
        flat,
        new SparseMeans(flat, dim, new float[dim]),
        dim,
        normalise(logits),
        noiseStd,
        null,
        null,
        0);
  }

  private static double[] normalise(double[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (double l : logits) {
      max = Math.max(max, l);
    }
    double sum = 0;
    for (double l : logits) {
      sum += Math.exp(l - max);
    }
    double lse = max + Math.log(sum);
    double[] out = new double[logits.length];
    for (int k = 0; k < logits.length; k++) {
      out[k] = logits[k] - lse;
    }
    return out;
  }

  @Override
  public int dim() {
    return dim;
  }

  @Override
  public long[] shape() {
    return world == null
        ? new long[] {dim}
        : new long[] {ToyWorld.SIZE, ToyWorld.SIZE, ToyWorld.CHANNELS};
  }

  /** A toy-world model's samples already are 32x32 RGB images; a bare mixture's are not. */
  @Override
  public java.util.Optional<ImageDecoder> imageDecoder() {
    return world == null
        ? java.util.Optional.empty()
        : java.util.Optional.of(ImageDecoder.pixels(ToyWorld.SIZE, ToyWorld.SIZE));
  }

  /** The number of components {@code K}. */
  public int components() {
    return count;
  }

  /** The mixture weights {@code pi_k} (a copy). */
  public double[] weights() {
    double[] w = new double[count];
    for (int k = 0; k < count; k++) {
      w[k] = Math.exp(logPi[k]);
    }
    return w;
  }

  /** Component {@code k}'s mean (a copy). */
  public float[] mean(int k) {
    float[] m = new float[dim];
    System.arraycopy(means, k * dim, m, 0, dim);
    return m;
  }

  /** The per-value standard deviation {@code s} of each component. */
  public double noiseStd() {
    return noiseStd;
  }

  /** The world this model samples, or null for a {@link #mixture}. */
  public ToyWorld world() {
    return world;
  }

  /** The conditioning prompt, or null when unconditional. */
  public Prompt prompt() {
    return prompt;
  }

  /** The prompt strength the weights were made with. */
  public double beta() {
    return beta;
  }

  /** The posterior weights {@code w_k(x)} at model time {@code t}. */
  public double[] posterior(float[] x, double t) {
    if (x == null || x.length != dim) {
      throw new IllegalArgumentException("x must have " + dim + " values");
    }
    Checks.time("t", t);
    double[] w = new double[count];
    double a = 1 - t;
    double v = a * a * s2 + t * t;
    for (int k = 0; k < count; k++) {
      w[k] = logPi[k] + (a * denseDot(x, 0, k * dim) - 0.5 * a * a * norms[k]) / v;
    }
    softmax(w);
    return w;
  }

  /** The index of the template nearest to {@code x} (Euclidean). */
  public int nearest(float[] x, int offset) {
    int best = 0;
    double bestD = Double.POSITIVE_INFINITY;
    for (int k = 0; k < count; k++) {
      double d = norms[k] - 2 * denseDot(x, offset, k * dim);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best;
  }

  @Override
  public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
    run(ops, x, t, null, out);
  }

  @Override
  public boolean hasVjp() {
    return true;
  }

  @Override
  public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    if (v == null) {
      throw new IllegalArgumentException("v must not be null");
    }
    run(ops, x, t, v, out);
  }

  private void run(ParticleOps ops, Tensor x, Tensor t, Tensor g, Tensor out) {
    if (ops == null) {
      throw new IllegalArgumentException("ops must not be null");
    }
    int n = x == null ? 0 : x.rows();
    HostIo.requireFloat(x, "x", n, dim);
    TensorChecks.column(t, DType.F64, n, "t");
    HostIo.requireFloat(out, "out", n, dim);
    if (g != null) {
      HostIo.requireFloat(g, "v", n, dim);
    }
    double[] times = HostIo.readDoubles(ops, t);
    for (int i = 0; i < n; i++) {
      Checks.time("t[" + i + "]", times[i]);
    }
    float[] xs = HostIo.readFloats(ops, x);
    float[] gs = g == null ? null : HostIo.readFloats(ops, g);
    float[] result = new float[xs.length];
    compute(xs, times, gs, result, n);
    HostIo.writeFloats(ops, result, out);
  }

  /** Velocities (or VJPs when {@code g} is not null) of {@code n} rows, host arrays. */
  void compute(float[] x, double[] t, float[] g, float[] out, int n) {
    int threads = ForkJoinPool.getCommonPoolParallelism() + 1;
    // Full blocks share each pass over the means; small batches split so every core has rows.
    int block = Math.clamp((n + threads - 1) / threads, 1, BLOCK);
    int blocks = (n + block - 1) / block;
    IntStream range = IntStream.range(0, blocks);
    if (blocks > 1 && (long) n * count * dim >= 1 << 18) {
      range = range.parallel();
    }
    range.forEach(b -> block(x, t, g, out, b * block, Math.min(n, (b + 1) * block)));
  }

  /** Per-thread buffers, reused across calls. */
  private static final class Scratch {
    final double[][] logits;
    final double[][] mbar;
    final double[][] acc;
    final double[] gdot;

    Scratch(int count, int dim) {
      logits = new double[BLOCK][count];
      mbar = new double[BLOCK][dim];
      acc = new double[BLOCK][dim];
      gdot = new double[BLOCK];
    }
  }

  private void block(float[] x, double[] t, float[] g, float[] out, int r0, int r1) {
    Scratch s = scratch.get();
    int b = r1 - r0;
    double[] a = new double[b];
    double[] v = new double[b];
    double[] xBase = new double[BLOCK];
    double[] gBase = new double[BLOCK];
    int[] rowAt = new int[BLOCK];
    for (int r = 0; r < BLOCK; r++) {
      // Short blocks repeat their last row so the four-row kernel always has four rows.
      rowAt[r] = (r0 + Math.min(r, b - 1)) * dim;
    }
    for (int r = 0; r < b; r++) {
      double tt = t[r0 + r];
      a[r] = 1 - tt;
      v[r] = a[r] * a[r] * s2 + tt * tt;
      xBase[r] = baseDot(x, rowAt[r]);
      if (g != null) {
        gBase[r] = baseDot(g, rowAt[r]);
      }
    }
    // Posterior logits from one pass over the means.
    double[] d = new double[BLOCK];
    for (int k = 0; k < count; k++) {
      if (b == 1) {
        d[0] = sparseDot(x, rowAt[0], k);
      } else {
        sparseDot4(x, rowAt, k, d);
      }
      for (int r = 0; r < b; r++) {
        double dk = xBase[r] + d[r];
        s.logits[r][k] = logPi[k] + (a[r] * dk - 0.5 * a[r] * a[r] * norms[k]) / v[r];
      }
    }
    double[] total = new double[BLOCK];
    for (int r = 0; r < b; r++) {
      softmax(s.logits[r]);
      java.util.Arrays.fill(s.mbar[r], 0);
      if (g != null) {
        java.util.Arrays.fill(s.acc[r], 0);
        s.gdot[r] = 0;
      }
    }
    // Weighted sums over the components that matter, sparse parts only: the base enters through
    // the weights' totals. m = W base + sum w delta; for the VJP also m.g = sum w (mu.g) and
    // sum w (mu.g) mu = (m.g) base + sum w (mu.g) delta.
    double[] cw = new double[BLOCK];
    double[] cg = new double[BLOCK];
    for (int k = 0; k < count; k++) {
      boolean any = false;
      for (int r = 0; r < b; r++) {
        double w = s.logits[r][k];
        cw[r] = w >= NEGLIGIBLE ? w : 0;
        total[r] += cw[r];
        any |= cw[r] != 0;
      }
      if (!any) {
        continue;
      }
      scatter(b, cw, k, s.mbar);
      if (g != null) {
        for (int r = 0; r < b; r++) {
          if (cw[r] != 0) {
            double gd = gBase[r] + sparseDot(g, rowAt[r], k);
            cg[r] = cw[r] * gd;
            s.gdot[r] += cg[r];
          } else {
            cg[r] = 0;
          }
        }
        scatter(b, cg, k, s.acc);
      }
    }
    float[] base = sparse.base;
    for (int r = 0; r < b; r++) {
      double c1 = (t[r0 + r] - a[r] * s2) / v[r];
      int row = rowAt[r];
      double[] m = s.mbar[r];
      double wb = total[r];
      if (g == null) {
        double cm = c1 * a[r] + 1;
        for (int j = 0; j < dim; j++) {
          double mj = wb * base[j] + m[j];
          out[row + j] = (float) (c1 * x[row + j] - cm * mj);
        }
      } else {
        double cc = (c1 * a[r] + 1) * a[r] / v[r];
        double mg = s.gdot[r];
        double[] acc = s.acc[r];
        for (int j = 0; j < dim; j++) {
          double mj = wb * base[j] + m[j];
          double aj = mg * base[j] + acc[j];
          out[row + j] = (float) (c1 * g[row + j] - cc * (aj - mg * mj));
        }
      }
    }
  }

  /** In-place softmax of log-weights. */
  private static void softmax(double[] l) {
    double max = Double.NEGATIVE_INFINITY;
    for (double e : l) {
      max = Math.max(max, e);
    }
    double sum = 0;
    for (int k = 0; k < l.length; k++) {
      l[k] = Math.exp(l[k] - max);
      sum += l[k];
    }
    for (int k = 0; k < l.length; k++) {
      l[k] /= sum;
    }
  }

  /** {@code x[xo..xo+dim) . base}. */
  private double baseDot(float[] x, int xo) {
    float[] base = sparse.base;
    double s0 = 0;
    for (int j = 0; j < dim; j++) {
      s0 += (double) x[xo + j] * base[j];
    }
    return s0;
  }

  /** {@code x[xo..xo+dim) . mean_k}, dense (for the occasional query, not the hot path). */
  private double denseDot(float[] x, int xo, int mo) {
    double s0 = 0;
    for (int j = 0; j < dim; j++) {
      s0 += (double) x[xo + j] * means[mo + j];
    }
    return s0;
  }

  /**
   * {@code x[xo..xo+dim) . delta_k} in double, summed in index order. {@link #sparseDot4} sums each
   * row in exactly the same order, so a row's velocity does not depend on the blocking.
   */
  private double sparseDot(float[] x, int xo, int k) {
    int[] index = sparse.index;
    float[] value = sparse.value;
    double s0 = 0;
    for (int p = sparse.start[k]; p < sparse.start[k + 1]; p++) {
      s0 += (double) x[xo + index[p]] * value[p];
    }
    return s0;
  }

  /** {@link #sparseDot} of four rows (starting at {@code rows[r]}) in one pass over delta_k. */
  private void sparseDot4(float[] x, int[] rows, int k, double[] out) {
    int[] index = sparse.index;
    float[] value = sparse.value;
    int x0 = rows[0];
    int x1 = rows[1];
    int x2 = rows[2];
    int x3 = rows[3];
    double s0 = 0;
    double s1 = 0;
    double s2 = 0;
    double s3 = 0;
    for (int p = sparse.start[k]; p < sparse.start[k + 1]; p++) {
      int j = index[p];
      double m = value[p];
      s0 += x[x0 + j] * m;
      s1 += x[x1 + j] * m;
      s2 += x[x2 + j] * m;
      s3 += x[x3 + j] * m;
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
  }

  /** {@code acc[r] += c[r] * delta_k} for the first {@code b} rows (rows with c 0 skipped). */
  private void scatter(int b, double[] c, int k, double[][] acc) {
    int[] index = sparse.index;
    float[] value = sparse.value;
    int from = sparse.start[k];
    int to = sparse.start[k + 1];
    for (int r = 0; r < b; r++) {
      double cr = c[r];
      if (cr != 0) {
        double[] ar = acc[r];
        for (int p = from; p < to; p++) {
          ar[index[p]] += cr * value[p];
        }
      }
    }
  }
}
