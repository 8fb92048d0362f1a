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
 * test_flat} (constant, not differentiable). {@code reward_fail_after: N} makes each conditioned
 * reward fail after N calls, with the kind of failure {@code reward_fail_with} names ({@link
 * TestFailures}); the names differ from the test model's, which a config sets beside them.
 */
public final class TestRewardFactory implements RewardFactory {
  @Override
  public Set<String> names() {
    return Set.of("test_norm", "test_flat");
  }

  @Override
  public Set<String> keys() {
    return Set.of("target", "reward_fail_after", "reward_fail_with");
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
    long failAfter = settings.get("reward_fail_after") instanceof Long l ? l : Long.MAX_VALUE;
    TestFailures.check(settings, "reward_fail_with");
    return new RewardModel() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public boolean differentiable() {
        return !flat;
      }

      @Override
      public Reward condition(String prompt) {
        // each request's reward counts its own calls (fail_after)
        return reward(name, target, flat, failAfter, settings);
      }

      @Override
      public void close() {}
    };
  }

  private static Reward reward(
      String name, double target, boolean flat, long failAfter, Map<String, Object> settings) {
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
        if (++calls > failAfter) {
          throw TestFailures.of(settings, "reward_fail_with", "test reward");
        }
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
