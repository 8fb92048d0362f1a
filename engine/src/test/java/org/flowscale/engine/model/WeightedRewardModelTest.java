package org.flowscale.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.toy.ToyWorld;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WeightedRewardModelTest {
  static final String PROMPT = "two blue squares and one red circle";
  static ParticleOps ops;

  @BeforeAll
  static void backend() {
    ops = Backends.create("cpu");
  }

  @AfterAll
  static void closeBackend() {
    ops.close();
  }

  static RewardModel toy(String name) {
    return Factories.reward(name).load(name, Map.of(), null);
  }

  /** Toy templates and blends of two, so the scores are not all integers. */
  static float[] images(int n) {
    ToyWorld w = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 32);
    float[] x = new float[n * ToyWorld.DIM];
    for (int i = 0; i < n; i++) {
      float[] a = w.template(5 * i % 32).image();
      float[] b = w.template((5 * i + 3) % 32).image();
      for (int j = 0; j < ToyWorld.DIM; j++) {
        x[i * ToyWorld.DIM + j] = 0.7f * a[j] + 0.3f * b[j];
      }
    }
    return x;
  }

  static void put(Tensor t, float[] x) {
    java.lang.foreign.MemorySegment.copy(
        x, 0, CpuParticleOps.segment(t), java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, x.length);
  }

  static double[] doubles(Tensor t) {
    return CpuParticleOps.segment(t)
        .asSlice(0, t.byteSize())
        .toArray(java.lang.foreign.ValueLayout.JAVA_DOUBLE);
  }

  static float[] floats(Tensor t) {
    return CpuParticleOps.segment(t)
        .asSlice(0, t.byteSize())
        .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
  }

  static double[] score(RewardModel m, float[] x) {
    int n = x.length / ToyWorld.DIM;
    try (Reward r = m.condition(PROMPT);
        Tensor x0 = ops.allocate(n, ToyWorld.DIM, DType.F32);
        Tensor out = ops.allocate(n, 1, DType.F64)) {
      put(x0, x);
      r.score(ops, x0, out);
      return doubles(out);
    }
  }

  @Test
  void scoresAreTheWeightedSum() {
    float[] x = images(5);
    double[] counting = score(toy("counting"), x);
    double[] aesthetic = score(toy("aesthetic"), x);
    try (WeightedRewardModel w =
        WeightedRewardModel.of(
            List.of(
                new WeightedRewardModel.Term(toy("counting"), 1.0, "counting"),
                new WeightedRewardModel.Term(toy("aesthetic"), -0.5, "aesthetic")))) {
      double[] got = score(w, x);
      for (int i = 0; i < x.length / ToyWorld.DIM; i++) {
        assertEquals(counting[i] - 0.5 * aesthetic[i], got[i], 1e-12);
      }
      assertFalse(w.differentiable(), "counting has no gradient");
      assertEquals("1.0 x counting + -0.5 x aesthetic", w.toString());
      assertEquals("weighted(counting, aesthetic)", w.name());
    }
  }

  @Test
  void theGradientIsTheWeightedSumOfGradients() {
    float[] x = images(3);
    int n = 3;
    try (WeightedRewardModel w =
            WeightedRewardModel.of(
                List.of(
                    new WeightedRewardModel.Term(toy("aesthetic"), 2.0, "a"),
                    new WeightedRewardModel.Term(toy("aesthetic"), 0.5, "b")));
        RewardModel one = toy("aesthetic");
        Reward r = w.condition(null);
        Reward r1 = one.condition(null);
        Tensor x0 = ops.allocate(n, ToyWorld.DIM, DType.F32);
        Tensor s = ops.allocate(n, 1, DType.F64);
        Tensor g = ops.allocate(n, ToyWorld.DIM, DType.F32);
        Tensor s1 = ops.allocate(n, 1, DType.F64);
        Tensor g1 = ops.allocate(n, ToyWorld.DIM, DType.F32)) {
      assertTrue(w.differentiable() && r.differentiable());
      put(x0, x);
      r.gradient(ops, x0, s, g);
      r1.gradient(ops, x0, s1, g1);
      double[] sw = doubles(s);
      double[] so = doubles(s1);
      float[] gw = floats(g);
      float[] go = floats(g1);
      for (int i = 0; i < n; i++) {
        assertEquals(2.5 * so[i], sw[i], 1e-12);
      }
      for (int j = 0; j < gw.length; j++) {
        assertEquals(2.5 * go[j], gw[j], 1e-6 * Math.max(1, Math.abs(gw[j])));
      }
    }
  }

  @Test
  void aTermThatRefusesThePromptClosesTheOthers() {
    List<String> closed = new ArrayList<>();
    RewardModel recording =
        new RewardModel() {
          @Override
          public String name() {
            return "rec";
          }

          @Override
          public boolean differentiable() {
            return false;
          }

          @Override
          public Reward condition(String prompt) {
            return new Reward() {
              @Override
              public String name() {
                return "rec";
              }

              @Override
              public void score(ParticleOps o, Tensor x0, Tensor out) {}

              @Override
              public void close() {
                closed.add("reward");
              }
            };
          }

          @Override
          public void close() {
            closed.add("model");
          }
        };
    WeightedRewardModel w =
        WeightedRewardModel.of(
            List.of(
                new WeightedRewardModel.Term(recording, 1, "rec"),
                new WeightedRewardModel.Term(toy("counting"), 1, "counting")));
    assertThrows(IllegalArgumentException.class, () -> w.condition("a purple hexagon"));
    assertEquals(List.of("reward"), closed);
    w.close();
    assertEquals(List.of("reward", "model"), closed);
  }

  @Test
  void termsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> WeightedRewardModel.of(List.of()));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new WeightedRewardModel.Term(toy("counting"), Double.NaN, "counting"));
    assertTrue(e.getMessage().contains("weight of counting must be a finite number"));
  }
}
