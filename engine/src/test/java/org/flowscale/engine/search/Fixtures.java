package org.flowscale.engine.search;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/** Small models, rewards and configs for the search tests. */
final class Fixtures {
  private Fixtures() {}

  static final List<SamplingScheme> SCHEMES =
      List.of(
          SamplingScheme.linearOde(),
          SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 1.0),
          SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3.0),
          SamplingScheme.polynomial(2, true, DiffusionCoefficient.SQUARE, 1.0));

  static GaussianModel gaussian(int dim) {
    float[] mean = new float[dim];
    for (int j = 0; j < dim; j++) {
      mean[j] = (float) (0.5 - 0.25 * j);
    }
    return new GaussianModel(mean, 0.8);
  }

  static SearchConfig config(
      FilteringMethod m, int b, int k, int block, int k0, long nfe, int steps, SamplingScheme s) {
    return SearchConfig.builder()
        .method(m)
        .batchSize(b)
        .nParticles(k)
        .blockSize(block)
        .initNParticles(k0)
        .maxNfe(nfe)
        .maxSteps(steps)
        .scheme(s)
        .dpsStepSize(0.05)
        .seed(42)
        .build();
  }

  static SearchConfig withSchedule(SearchConfig c, TimeSchedule schedule) {
    return c.toBuilder().timeSchedule(schedule).build();
  }

  static float[][] rows(ParticleOps ops, Tensor t) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      float[][] out = new float[t.rows()][t.cols()];
      for (int i = 0; i < t.rows(); i++) {
        MemorySegment.copy(s, JAVA_FLOAT, (long) i * t.cols() * 4, out[i], 0, t.cols());
      }
      return out;
    }
  }

  static void writeColumn(ParticleOps ops, double[] v, Tensor out) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_DOUBLE, Math.max(1, v.length));
      MemorySegment.copy(v, 0, s, JAVA_DOUBLE, 0, v.length);
      ops.upload(s, out);
    }
  }

  static void writeRows(ParticleOps ops, float[][] v, Tensor out) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(Math.max(1, out.byteSize()), 8);
      for (int i = 0; i < v.length; i++) {
        MemorySegment.copy(v[i], 0, s, JAVA_FLOAT, (long) i * v[i].length * 4, v[i].length);
      }
      ops.upload(s, out);
    }
  }

  /**
   * {@code r(x) = -mean_j (x_j - c_j)^2}: smooth, differentiable, highest at c. Counts the rows it
   * scores.
   */
  static final class Quadratic implements Reward {
    final float[] target;
    long rows;

    Quadratic(float[] target) {
      this.target = target.clone();
    }

    @Override
    public String name() {
      return "quadratic";
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      float[][] x = rows(ops, x0);
      double[] r = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        for (int j = 0; j < target.length; j++) {
          double d = x[i][j] - target[j];
          r[i] -= d * d / target.length;
        }
      }
      rows += x.length;
      writeColumn(ops, r, out);
    }

    @Override
    public boolean differentiable() {
      return true;
    }

    @Override
    public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
      score(ops, x0, outScores);
      float[][] x = rows(ops, x0);
      float[][] g = new float[x.length][target.length];
      for (int i = 0; i < x.length; i++) {
        for (int j = 0; j < target.length; j++) {
          g[i][j] = (float) (-2.0 * (x[i][j] - target[j]) / target.length);
        }
      }
      writeRows(ops, g, outGrad);
    }
  }

  /** Returns scripted rewards in the order rows are scored and records every scored row. */
  static final class Scripted implements Reward {
    private final double[] script;
    private final double otherwise;
    private int next;
    final List<float[]> scored = new ArrayList<>();

    /** {@code script} first, then {@code otherwise} forever. */
    Scripted(double otherwise, double... script) {
      this.script = script.clone();
      this.otherwise = otherwise;
    }

    @Override
    public String name() {
      return "scripted";
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      float[][] x = rows(ops, x0);
      double[] r = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        r[i] = next < script.length ? script[next] : otherwise;
        next++;
        scored.add(x[i]);
      }
      writeColumn(ops, r, out);
    }
  }

  /**
   * Scripted rewards keyed by content: a row never scored before takes the next script value (then
   * {@code otherwise}); a row equal to one scored before gets that row's reward again, as any real
   * reward would. So a step that lands exactly on a scored Tweedie estimate rescores it the same.
   */
  static final class ByContent implements Reward {
    private final double[] script;
    private final double otherwise;
    private int next;
    private final List<float[]> seen = new ArrayList<>();
    private final List<Double> values = new ArrayList<>();

    ByContent(double otherwise, double... script) {
      this.script = script.clone();
      this.otherwise = otherwise;
    }

    @Override
    public String name() {
      return "by-content";
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      float[][] x = rows(ops, x0);
      double[] r = new double[x.length];
      for (int i = 0; i < x.length; i++) {
        int j = 0;
        while (j < seen.size() && !java.util.Arrays.equals(seen.get(j), x[i])) {
          j++;
        }
        if (j == seen.size()) {
          seen.add(x[i]);
          values.add(next < script.length ? script[next] : otherwise);
          next++;
        }
        r[i] = values.get(j);
      }
      writeColumn(ops, r, out);
    }

    /** Distinct rows scored so far. */
    int distinct() {
      return seen.size();
    }
  }
}
