package org.flowscale.engine.model;

import java.util.Optional;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Views of models and rewards with another owner: one-off models and rewards that own what they
 * were loaded from (the factories' {@code create} shortcuts), and prompt-free loaded models whose
 * conditioned views share one instance.
 */
final class Owned {
  private Owned() {}

  static VelocityModel model(FlowModel loaded, String prompt) {
    VelocityModel m;
    try {
      m = loaded.condition(prompt);
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
    return view(m, loaded);
  }

  /** Delegates everything to {@code m}; close closes {@code m} and then {@code owner}, if any. */
  private static VelocityModel view(VelocityModel m, AutoCloseable owner) {
    return new VelocityModel() {
      @Override
      public int dim() {
        return m.dim();
      }

      @Override
      public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
        m.velocity(ops, x, t, out);
      }

      @Override
      public boolean hasVjp() {
        return m.hasVjp();
      }

      @Override
      public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
        m.velocityVjp(ops, x, t, v, out);
      }

      @Override
      public long[] shape() {
        return m.shape();
      }

      @Override
      public int timeShiftTokens() {
        return m.timeShiftTokens();
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return m.imageDecoder();
      }

      @Override
      public Optional<SampleDecoder> decoder() {
        return m.decoder();
      }

      @Override
      public int nfePerEvaluation() {
        return m.nfePerEvaluation();
      }

      @Override
      public void close() {
        if (owner != null) {
          try {
            m.close();
          } finally {
            closeOwner(owner);
          }
        }
      }

      @Override
      public String toString() {
        return m.toString();
      }
    };
  }

  static Reward reward(RewardModel loaded, String prompt) {
    Reward r;
    try {
      r = loaded.condition(prompt);
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
    return view(r, loaded);
  }

  /** Delegates everything to {@code r}; close closes {@code r} and then {@code owner}, if any. */
  private static Reward view(Reward r, AutoCloseable owner) {
    return new Reward() {
      @Override
      public String name() {
        return r.name();
      }

      @Override
      public void score(ParticleOps ops, Tensor x0, Tensor out) {
        r.score(ops, x0, out);
      }

      @Override
      public boolean differentiable() {
        return r.differentiable();
      }

      @Override
      public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
        r.gradient(ops, x0, outScores, outGrad);
      }

      @Override
      public void close() {
        if (owner != null) {
          try {
            r.close();
          } finally {
            closeOwner(owner);
          }
        }
      }

      @Override
      public String toString() {
        return r.toString();
      }
    };
  }

  static FlowModel promptFree(VelocityModel model) {
    if (model == null) {
      throw new IllegalArgumentException("model must not be null");
    }
    return new FlowModel() {
      @Override
      public int dim() {
        return model.dim();
      }

      @Override
      public long[] shape() {
        return model.shape();
      }

      @Override
      public int timeShiftTokens() {
        return model.timeShiftTokens();
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return model.imageDecoder();
      }

      @Override
      public Optional<SampleDecoder> decoder() {
        return model.decoder();
      }

      @Override
      public VelocityModel condition(String prompt) {
        return view(model, null);
      }

      @Override
      public boolean promptConditioned() {
        return false;
      }

      @Override
      public void close() {
        model.close();
      }

      @Override
      public String toString() {
        return model.toString();
      }
    };
  }

  static RewardModel promptFree(Reward reward) {
    if (reward == null) {
      throw new IllegalArgumentException("reward must not be null");
    }
    return new RewardModel() {
      @Override
      public String name() {
        return reward.name();
      }

      @Override
      public boolean differentiable() {
        return reward.differentiable();
      }

      @Override
      public Reward condition(String prompt) {
        return view(reward, null);
      }

      @Override
      public void close() {
        reward.close();
      }

      @Override
      public String toString() {
        return reward.toString();
      }
    };
  }

  private static void closeOwner(AutoCloseable owner) {
    try {
      owner.close();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("closing " + owner + " failed: " + e.getMessage(), e);
    }
  }
}
