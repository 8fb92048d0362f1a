package org.flowscale.engine.model;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * Several rewards as one: {@code r(x) = sum_i w_i r_i(x)}, as the paper's reference adds
 * ImageReward to VQAScore with {@code image_reward_weight} (config: {@code rewards: [{score: ...,
 * weight: ...}, ...]}). Its gradient is {@code sum_i w_i grad r_i}, so it is differentiable when
 * every term is. The terms are scored one after the other on the same samples.
 *
 * <p>It owns its terms: closing it closes every term's model.
 */
public final class WeightedRewardModel implements RewardModel {

  /**
   * One term.
   *
   * @param model the loaded reward
   * @param weight its weight (finite; negative weights penalise)
   * @param label names the term in messages ({@code remote 'vqascore'})
   */
  public record Term(RewardModel model, double weight, String label) {
    public Term {
      if (model == null) {
        throw new IllegalArgumentException("a weighted reward's term needs a reward");
      }
      if (!Double.isFinite(weight)) {
        throw new IllegalArgumentException(
            "the weight of " + label + " must be a finite number, got " + weight);
      }
    }
  }

  private final List<Term> terms;

  private WeightedRewardModel(List<Term> terms) {
    this.terms = terms;
  }

  /**
   * The weighted sum of {@code terms}, which it then owns.
   *
   * @throws IllegalArgumentException when there are none
   */
  public static WeightedRewardModel of(List<Term> terms) {
    if (terms == null || terms.isEmpty()) {
      throw new IllegalArgumentException("a weighted reward needs at least one reward");
    }
    return new WeightedRewardModel(List.copyOf(terms));
  }

  /** The terms, in order. */
  public List<Term> terms() {
    return terms;
  }

  /** {@code weighted(<label>, ...)}: what messages and events call it. */
  @Override
  public String name() {
    return "weighted(" + String.join(", ", terms.stream().map(Term::label).toList()) + ")";
  }

  @Override
  public boolean differentiable() {
    return terms.stream().allMatch(t -> t.model().differentiable());
  }

  @Override
  public Reward condition(String prompt) {
    List<Reward> made = new ArrayList<>();
    try {
      for (Term t : terms) {
        made.add(t.model().condition(prompt));
      }
    } catch (RuntimeException e) {
      made.forEach(WeightedRewardModel::closeQuietly);
      throw e;
    }
    return new Weighted(List.copyOf(made));
  }

  @Override
  public void close() {
    RuntimeException first = null;
    for (Term t : terms) {
      try {
        t.model().close();
      } catch (RuntimeException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder();
    for (Term t : terms) {
      if (!b.isEmpty()) {
        b.append(" + ");
      }
      b.append(String.format(Locale.ROOT, "%s x %s", t.weight(), t.label()));
    }
    return b.toString();
  }

  private static void closeQuietly(Reward r) {
    try {
      r.close();
    } catch (RuntimeException e) {
      // closing after a failure: the failure is what to report
    }
  }

  /** The conditioned sum. */
  private final class Weighted implements Reward {
    private final List<Reward> rewards;

    Weighted(List<Reward> rewards) {
      this.rewards = rewards;
    }

    @Override
    public String name() {
      return WeightedRewardModel.this.name();
    }

    @Override
    public boolean differentiable() {
      return rewards.stream().allMatch(Reward::differentiable);
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      int n = x0.rows();
      TensorChecks.column(out, DType.F64, n, "out");
      double[] sum = new double[n];
      try (Tensor s = ops.allocate(n, 1, DType.F64)) {
        for (int i = 0; i < rewards.size(); i++) {
          rewards.get(i).score(ops, x0, s);
          add(sum, readDoubles(ops, s), terms.get(i).weight());
        }
      }
      writeDoubles(ops, sum, out);
    }

    @Override
    public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
      if (!differentiable()) {
        throw new UnsupportedOperationException(
            "the weighted reward " + WeightedRewardModel.this + " is not differentiable");
      }
      int n = x0.rows();
      TensorChecks.column(outScores, DType.F64, n, "outScores");
      TensorChecks.floating(outGrad, "outGrad");
      TensorChecks.sameShape(x0, outGrad, "x0", "outGrad");
      double[] sum = new double[n];
      double[] grad = new double[Math.toIntExact(outGrad.elements())];
      try (Tensor s = ops.allocate(n, 1, DType.F64);
          Tensor g = ops.allocate(outGrad.rows(), outGrad.cols(), outGrad.dtype())) {
        for (int i = 0; i < rewards.size(); i++) {
          double w = terms.get(i).weight();
          rewards.get(i).gradient(ops, x0, s, g);
          add(sum, readDoubles(ops, s), w);
          float[] gi = readFloats(ops, g);
          for (int j = 0; j < grad.length; j++) {
            grad[j] += w * gi[j];
          }
        }
      }
      float[] out = new float[grad.length];
      for (int j = 0; j < out.length; j++) {
        out[j] = (float) grad[j];
      }
      writeDoubles(ops, sum, outScores);
      writeFloats(ops, out, outGrad);
    }

    @Override
    public void close() {
      rewards.forEach(WeightedRewardModel::closeQuietly);
    }

    @Override
    public String toString() {
      return WeightedRewardModel.this.toString();
    }
  }

  private static void add(double[] sum, double[] v, double w) {
    for (int i = 0; i < sum.length; i++) {
      sum[i] += w * v[i];
    }
  }

  private static double[] readDoubles(ParticleOps ops, Tensor t) {
    double[] out = new double[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      MemorySegment.copy(s, JAVA_DOUBLE, 0, out, 0, out.length);
    }
    return out;
  }

  private static void writeDoubles(ParticleOps ops, double[] v, Tensor t) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      MemorySegment.copy(v, 0, s, JAVA_DOUBLE, 0, v.length);
      ops.upload(s, t);
    }
  }

  /** An F32 or BF16 tensor's values. */
  private static float[] readFloats(ParticleOps ops, Tensor t) {
    float[] out = new float[Math.toIntExact(t.elements())];
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      for (int i = 0; i < out.length; i++) {
        out[i] =
            t.dtype() == DType.BF16
                ? DType.fromBf16(s.getAtIndex(JAVA_SHORT, i))
                : s.getAtIndex(JAVA_FLOAT, i);
      }
    }
    return out;
  }

  private static void writeFloats(ParticleOps ops, float[] v, Tensor t) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment s = arena.allocate(Math.max(1, t.byteSize()), 8);
      for (int i = 0; i < v.length; i++) {
        if (t.dtype() == DType.BF16) {
          s.setAtIndex(JAVA_SHORT, i, DType.toBf16(v[i]));
        } else {
          s.setAtIndex(JAVA_FLOAT, i, v[i]);
        }
      }
      ops.upload(s, t);
    }
  }
}
