package org.flowscale.rewards;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.toy.ToyWorld;
import org.flowscale.rewards.testing.ToyImages;
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

  static double[] score(RewardModel m, float[] x) {
    try (Reward r = m.condition(PROMPT)) {
      return ToyImages.score(ops, r, x);
    }
  }

  @Test
  void scoresAreTheWeightedSum() {
    float[] x = ToyImages.images(5);
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
    }
  }

  @Test
  void theGradientIsTheWeightedSumOfGradients() {
    float[] x = ToyImages.images(3);
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
      HostTensors.writeFloats(ops, x, x0);
      r.gradient(ops, x0, s, g);
      r1.gradient(ops, x0, s1, g1);
      double[] sw = HostTensors.readDoubles(ops, s);
      double[] so = HostTensors.readDoubles(ops, s1);
      float[] gw = HostTensors.readFloats(ops, g);
      float[] go = HostTensors.readFloats(ops, g1);
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
