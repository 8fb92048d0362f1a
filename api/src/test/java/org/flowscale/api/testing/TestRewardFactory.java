package org.flowscale.api.testing;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Set;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Test-only rewards: {@code test_norm} ({@code -|x - target|^2}, differentiable) and {@code
 * test_flat} (constant, not differentiable). Fault injection: {@code reward_nan_at} (the reward
 * call, from 0, that scores particle 0 as NaN).
 */
public final class TestRewardFactory implements RewardFactory {
  @Override
  public Set<String> names() {
    return Set.of("test_norm", "test_flat");
  }

  @Override
  public Set<String> keys() {
    return Set.of("target", "reward_nan_at");
  }

  @Override
  public RewardModel load(String name, Map<String, Object> settings, SampleSpace model) {
    double target =
        switch (settings.getOrDefault("target", 0.0)) {
          case Long l -> l;
          case Double d -> d;
          default -> throw new IllegalArgumentException("target must be a number");
        };
    if (!(Math.abs(target) <= 1e6)) {
      throw new IllegalArgumentException("target must be in [-1e6, 1e6], got " + target);
    }
    boolean flat = name.equals("test_flat");
    long nanAt = settings.get("reward_nan_at") instanceof Long l ? l : -1;
    return RewardModel.promptFree(reward(name, target, flat, nanAt));
  }

  private static Reward reward(String name, double target, boolean flat, long nanAt) {
    return new Reward() {
      private long calls;

      @Override
      public String name() {
        return name;
      }

      @Override
      public boolean differentiable() {
        return !flat;
      }

      @Override
      public void score(ParticleOps ops, Tensor x0, Tensor out) {
        gradient(ops, x0, out, null);
      }

      @Override
      public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
        int n = x0.rows();
        int d = x0.cols();
        try (Arena a = Arena.ofConfined()) {
          MemorySegment xs = a.allocate(x0.byteSize(), 8);
          MemorySegment s = a.allocate(8L * n, 8);
          ops.download(x0, xs);
          for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < d; j++) {
              long idx = (long) i * d + j;
              double diff = xs.getAtIndex(JAVA_FLOAT, idx) - target;
              sum += diff * diff;
              xs.setAtIndex(JAVA_FLOAT, idx, (float) (-2 * diff));
            }
            s.setAtIndex(JAVA_DOUBLE, i, flat ? 0 : -sum);
          }
          if (calls++ == nanAt) {
            s.setAtIndex(JAVA_DOUBLE, 0, Double.NaN);
          }
          ops.upload(s, outScores);
          if (outGrad != null) {
            ops.upload(xs, outGrad);
          }
        }
      }
    };
  }
}
