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
 * with the kind of failure {@code fail_with} names ({@link TestFailures}). Fault injection: {@code
 * nan_at} (model call, from 0, whose velocity holds {@code nan_value}: {@code nan}, {@code inf} or
 * {@code -inf}, in particle {@code nan_particle}), {@code delay_ms} (sleep per model call, so a run
 * lasts long enough to be signalled), {@code plan} (checked by a dry run without loading).
 */
public final class TestModelFactory implements org.flowscale.engine.model.ModelFactory {
  @Override
  public String name() {
    return "test_gaussian";
  }

  @Override
  public Set<String> keys() {
    return Set.of(
        "mean",
        "variance",
        "fail_after",
        "fail_load",
        "fail_with",
        "prompt_free",
        "nan_at",
        "nan_particle",
        "nan_value",
        "delay_ms",
        "plan");
  }

  /**
   * {@code plan: true} makes this model plan like FLUX ({@code --dry-run} checks it without loading
   * it): its samples' space and one report line.
   */
  @Override
  public Optional<org.flowscale.engine.model.ModelPlan> plan(Map<String, Object> settings) {
    if (!Boolean.TRUE.equals(settings.get("plan"))) {
      return Optional.empty();
    }
    org.flowscale.engine.model.SampleSpace space =
        new org.flowscale.engine.model.SampleSpace() {
          @Override
          public int dim() {
            return 12;
          }

          @Override
          public Optional<ImageDecoder> imageDecoder() {
            return Optional.of(ImageDecoder.pixels(2, 2));
          }
        };
    return Optional.of(
        new org.flowscale.engine.model.ModelPlan(space, List.of("test_gaussian: planned")));
  }

  /** How many times a model was loaded in this JVM (tests of reuse count it). */
  public static final java.util.concurrent.atomic.AtomicLong LOADS =
      new java.util.concurrent.atomic.AtomicLong();

  @Override
  public FlowModel load(Map<String, Object> settings) {
    double mean = number(settings.getOrDefault("mean", 0.0), "mean");
    double variance = number(settings.getOrDefault("variance", 0.25), "variance");
    if (!(variance > 0 && variance <= 1e6)) {
      throw new IllegalArgumentException("variance must be in (0, 1e6], got " + variance);
    }
    if (!(Math.abs(mean) <= 1e6)) {
      throw new IllegalArgumentException("mean must be in [-1e6, 1e6], got " + mean);
    }
    float[] m = new float[12];
    java.util.Arrays.fill(m, (float) mean);
    GaussianModel g = new GaussianModel(m, variance);
    long failAfter = settings.get("fail_after") instanceof Long l ? l : Long.MAX_VALUE;
    Faults faults =
        new Faults(
            settings.get("nan_at") instanceof Long l ? l : -1,
            settings.get("nan_particle") instanceof Long l ? l.intValue() : 0,
            switch (String.valueOf(settings.getOrDefault("nan_value", "nan"))) {
              case "nan" -> Float.NaN;
              case "inf" -> Float.POSITIVE_INFINITY;
              case "-inf" -> Float.NEGATIVE_INFINITY;
              default -> throw new IllegalArgumentException("nan_value must be nan, inf or -inf");
            },
            settings.get("delay_ms") instanceof Long l ? l : 0);
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
        return model(g, failAfter, faults, settings);
      }

      @Override
      public void close() {}
    };
  }

  /** Injected faults: a non-finite velocity at one call, and a delay per call. */
  private record Faults(long nanAt, int nanParticle, float nanValue, long delayMs) {}

  private static VelocityModel model(
      GaussianModel g, long failAfter, Faults faults, Map<String, Object> settings) {
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
        if (faults.delayMs() > 0) {
          try {
            Thread.sleep(faults.delayMs());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        g.velocity(ops, x, t, out);
        if (calls - 1 == faults.nanAt()) {
          try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            var s = a.allocate(out.byteSize(), 8);
            ops.download(out, s);
            long row = Math.min(faults.nanParticle(), out.rows() - 1);
            s.setAtIndex(
                java.lang.foreign.ValueLayout.JAVA_FLOAT, row * out.cols() + 1, faults.nanValue());
            ops.upload(s, out);
          }
        }
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
