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
 * test_flat} (constant, not differentiable).
 */
public final class TestRewardFactory implements RewardFactory {
  @Override
  public Set<String> names() {
    return Set.of("test_norm", "test_flat");
  }

  @Override
  public Set<String> keys() {
    return Set.of("target");
  }

  @Override
  public RewardModel load(String name, Map<String, Object> settings, SampleSpace model) {
    double target =
        switch (settings.getOrDefault("target", 0.0)) {
          case Long l -> l;
          case Double d -> d;
          default -> throw new IllegalArgumentException("target must be a number");
        };
    boolean flat = name.equals("test_flat");
    return RewardModel.promptFree(reward(name, target, flat));
  }

  private static Reward reward(String name, double target, boolean flat) {
    return new Reward() {
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
          ops.upload(s, outScores);
          if (outGrad != null) {
            ops.upload(xs, outGrad);
          }
        }
      }
    };
  }
}
