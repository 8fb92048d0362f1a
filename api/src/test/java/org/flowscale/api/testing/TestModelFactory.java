package org.flowscale.api.testing;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * A test-only model ({@code model: test_gaussian}): Gaussian data shaped as a 2x2 RGB image, so the
 * command line's config handling can be tested without the toy world. {@code fail_after: N} makes
 * each conditioned model fail after N velocity calls, {@code fail_load: true} makes loading fail,
 * with the kind of failure {@code fail_with} names ({@link TestFailures}).
 */
public final class TestModelFactory implements org.flowscale.engine.model.ModelFactory {
  @Override
  public String name() {
    return "test_gaussian";
  }

  @Override
  public Set<String> keys() {
    return Set.of("mean", "variance", "fail_after", "fail_load", "fail_with", "prompt_free");
  }

  /** How many times a model was loaded in this JVM (tests of reuse count it). */
  public static final java.util.concurrent.atomic.AtomicLong LOADS =
      new java.util.concurrent.atomic.AtomicLong();

  @Override
  public FlowModel load(Map<String, Object> settings) {
    double mean = number(settings.getOrDefault("mean", 0.0), "mean");
    double variance = number(settings.getOrDefault("variance", 0.25), "variance");
    if (!(variance > 0)) {
      throw new IllegalArgumentException("variance must be > 0, got " + variance);
    }
    float[] m = new float[12];
    java.util.Arrays.fill(m, (float) mean);
    GaussianModel g = new GaussianModel(m, variance);
    long failAfter = settings.get("fail_after") instanceof Long l ? l : Long.MAX_VALUE;
    TestFailures.check(settings, "fail_with");
    if (Boolean.TRUE.equals(settings.get("fail_load"))) {
      throw TestFailures.of(settings, "fail_with", "loading test model");
    }
    LOADS.incrementAndGet();
    boolean promptFree = Boolean.TRUE.equals(settings.get("prompt_free"));
    return new FlowModel() {
      @Override
      public boolean promptConditioned() {
        return !promptFree;
      }

      @Override
      public int dim() {
        return g.dim();
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return Optional.of(ImageDecoder.pixels(2, 2));
      }

      @Override
      public VelocityModel condition(String prompt) {
        if (prompt == null || prompt.isBlank()) {
          throw new IllegalArgumentException("text_prompt must not be empty");
        }
        return model(g, failAfter, settings);
      }

      @Override
      public void close() {}
    };
  }

  private static VelocityModel model(
      GaussianModel g, long failAfter, Map<String, Object> settings) {
    return new VelocityModel() {
      private long calls;

      @Override
      public int dim() {
        return g.dim();
      }

      @Override
      public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
        if (++calls > failAfter) {
          throw TestFailures.of(settings, "fail_with", "test model");
        }
        g.velocity(ops, x, t, out);
      }

      @Override
      public boolean hasVjp() {
        return true;
      }

      @Override
      public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
        g.velocityVjp(ops, x, t, v, out);
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return Optional.of(ImageDecoder.pixels(2, 2));
      }
    };
  }

  private static double number(Object v, String key) {
    return switch (v) {
      case Long l -> l;
      case Double d -> d;
      case List<?> l -> throw new IllegalArgumentException(key + " must be a number, got a list");
      default -> throw new IllegalArgumentException(key + " must be a number, got " + v);
    };
  }
}
