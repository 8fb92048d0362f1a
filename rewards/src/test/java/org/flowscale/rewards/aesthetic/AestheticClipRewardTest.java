package org.flowscale.rewards.aesthetic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.weights.SafeTensors;
import org.flowscale.bindings.weights.SafeTensorsWriter;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.toy.ToyModelFactory;
import org.flowscale.rewards.HostTensors;
import org.flowscale.rewards.testing.ToyImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reward_score: aesthetic_clip} on the CPU: a tiny random CLIP tower and head in the
 * published layout, converted by the real tool and loaded by name into the real architecture file,
 * against an eager float64 reference (score and gradient).
 */
class AestheticClipRewardTest {
  static ParticleOps ops;
  @TempDir Path tmp;

  @BeforeAll
  static void backend() {
    ops = Backends.create("cpu");
  }

  @AfterAll
  static void closeBackend() {
    ops.close();
  }

  static Map<String, Object> settings(AestheticFixtures f, String dtype) {
    Map<String, Object> s = new HashMap<>();
    s.put("reward_path", f.file("aesthetic-tiny.safetensors").toString());
    s.put("reward_architecture_path", f.file("arch.pt").toString());
    if (dtype != null) {
      s.put("reward_dtype", dtype);
    }
    return s;
  }

  /** Scores and gradients of a case's images with the reward loaded at {@code dtype}. */
  record Got(double[] scores, float[] grad, double[] scoresOnly) {}

  static Got run(AestheticFixtures f, AestheticFixtures.Case c, String dtype) {
    try (RewardModel m =
            Factories.reward("aesthetic_clip")
                .load("aesthetic_clip", settings(f, dtype), ToyImages.space(c.h(), c.w()));
        Reward r = m.condition("any prompt");
        Tensor x0 = ops.allocate(c.n(), c.h() * c.w() * 3, DType.F32);
        Tensor s = ops.allocate(c.n(), 1, DType.F64);
        Tensor s2 = ops.allocate(c.n(), 1, DType.F64);
        Tensor g = ops.allocate(c.n(), c.h() * c.w() * 3, DType.F32)) {
      assertTrue(m.differentiable() && r.differentiable());
      HostTensors.writeFloats(ops, c.x(), x0);
      r.gradient(ops, x0, s, g);
      r.score(ops, x0, s2);
      return new Got(
          HostTensors.readDoubles(ops, s),
          HostTensors.readFloats(ops, g),
          HostTensors.readDoubles(ops, s2));
    }
  }

  /** max |a - b| over max |b| of each image's values. */
  static double relErr(double[] ref, float[] got, int n) {
    int d = ref.length / n;
    double worst = 0;
    for (int i = 0; i < n; i++) {
      double num = 0;
      double den = 0;
      for (int j = i * d; j < (i + 1) * d; j++) {
        num = Math.max(num, Math.abs(got[j] - ref[j]));
        den = Math.max(den, Math.abs(ref[j]));
      }
      worst = Math.max(worst, num / den);
    }
    return worst;
  }

  static double scoreErr(double[] ref, double[] got) {
    double worst = 0;
    for (int i = 0; i < ref.length; i++) {
      worst = Math.max(worst, Math.abs(got[i] - ref[i]) / Math.max(Math.abs(ref[i]), 1e-3));
    }
    return worst;
  }

  @Test
  void float32MeetsTheEagerReference() {
    AestheticFixtures f = AestheticFixtures.get();
    for (AestheticFixtures.Case c : f.cases) {
      Got got = run(f, c, null);
      String what = c.n() + " images of " + c.h() + "x" + c.w();
      assertTrue(
          scoreErr(c.score(), got.scores()) < 1e-5,
          what
              + ": scores "
              + java.util.Arrays.toString(got.scores())
              + " vs "
              + java.util.Arrays.toString(c.score()));
      assertArrayEquals(got.scores(), got.scoresOnly(), 0.0, "score() and gradient() agree");
      double g = relErr(c.grad(), got.grad(), c.n());
      assertTrue(g < 1e-5, what + ": gradient rel. err " + g);
    }
  }

  @Test
  void float64MeetsTheEagerReferenceToRounding() {
    AestheticFixtures f = AestheticFixtures.get();
    for (AestheticFixtures.Case c : f.cases) {
      Got got = run(f, c, "float64");
      double s = scoreErr(c.score(), got.scores());
      assertTrue(s < 1e-10, "scores rel. err " + s);
      // the gradient comes back as F32 (the particles' dtype): float rounding only
      double g = relErr(c.grad(), got.grad(), c.n());
      assertTrue(g < 1e-6, "gradient rel. err " + g);
    }
  }

  @Test
  void dpsRunsOnTheToyWorldWithIt() {
    AestheticFixtures f = AestheticFixtures.get();
    SearchConfig config =
        SearchConfig.builder()
            .method(FilteringMethod.DPS)
            .batchSize(2)
            .nParticles(1)
            .blockSize(1)
            .initNParticles(1)
            .maxNfe(10)
            .maxSteps(5)
            .timeSchedule(TimeSchedule.EXP)
            .scheme(SamplingScheme.linearOde())
            .rewardWeight(1.0)
            .essThreshold(0.5)
            .resampling(Resampling.MULTINOMIAL)
            .dpsStepSize(0.1)
            .seed(7)
            .build();
    try (var flow = new ToyModelFactory().load(Map.of());
        VelocityModel model = flow.condition("two red circles");
        RewardModel m =
            Factories.reward("aesthetic_clip").load("aesthetic_clip", settings(f, null), flow);
        Reward r = m.condition("two red circles")) {
      SearchResult result =
          SearchMethods.of(FilteringMethod.DPS).run(config, ops, model, r, SearchListener.NONE);
      assertEquals(10, result.nfe());
      assertTrue(result.gradientPasses() > 0, result.toString());
      assertTrue(Double.isFinite(result.reward()), result.toString());
    }
  }

  @Test
  void filesThatDoNotFitAreRefusedWithTheReason() throws Exception {
    AestheticFixtures f = AestheticFixtures.get();
    record Case(Map<String, Object> changes, String message) {}
    Path partial = tmp.resolve("partial.safetensors");
    copyWithout(f.file("aesthetic-tiny.safetensors"), partial, "layers.7.bias");
    for (Case c :
        List.of(
            new Case(
                Map.of("reward_architecture_path", f.file("not-ours.pt").toString()),
                "is not an aesthetic CLIP architecture file"),
            new Case(
                Map.of("reward_architecture_path", f.file("arch-2.pt").toString()),
                "has 2 residual blocks, the weights 24"),
            new Case(
                Map.of("reward_path", f.file("cases.safetensors").toString()),
                "no tensor visual.class_embedding"),
            new Case(Map.of("reward_path", partial.toString()), "layers.7.bias"),
            new Case(Map.of("reward_dtype", "int8"), "reward_dtype must be float32, bf16"),
            new Case(Map.of("reward_path", tmp.resolve("nope").toString()), "reward_path: no such"),
            new Case(
                Map.of("reward_device", "tpu"), "reward_device must be cpu, cuda or cuda:N"))) {
      Map<String, Object> s = settings(f, null);
      s.putAll(c.changes());
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  Factories.reward("aesthetic_clip")
                      .load("aesthetic_clip", s, ToyImages.space(12, 12)),
              c.toString());
      assertTrue(e.getMessage().contains(c.message()), c + ": " + e.getMessage());
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Factories.reward("aesthetic_clip")
                    .load("aesthetic_clip", settings(f, null), () -> 64));
    assertTrue(e.getMessage().contains("no image form"), e.getMessage());
  }

  /** A copy of a safetensors file without one tensor. */
  static void copyWithout(Path from, Path to, String drop) {
    try (SafeTensors in = SafeTensors.open(from);
        Arena arena = Arena.ofConfined()) {
      List<SafeTensorsWriter.Entry> entries = new ArrayList<>();
      for (TensorInfo info : in.tensors()) {
        if (!info.name().equals(drop)) {
          MemorySegment data = arena.allocate(Math.max(1, info.byteSize()));
          data.copyFrom(in.data(info.name()));
          entries.add(
              new SafeTensorsWriter.Entry(
                  info.name(), info.dtype(), info.shape(), data.asSlice(0, info.byteSize())));
        }
      }
      SafeTensorsWriter.write(to, entries, in.metadata());
    }
    assertTrue(Files.exists(to));
  }
}
