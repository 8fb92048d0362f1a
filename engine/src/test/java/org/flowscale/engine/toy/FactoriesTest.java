package org.flowscale.engine.toy;

import static org.flowscale.engine.toy.ToyModelTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.VelocityModel;
import org.junit.jupiter.api.Test;

class FactoriesTest {

  @Test
  void toyModelIsFoundByNameWithDefaults() {
    VelocityModel m =
        Factories.model("toy").load(Map.of()).condition("two blue squares and one red circle");
    ToyModel toy = assertInstanceOf(ToyModel.class, m);
    assertEquals(ToyWorld.DIM, toy.dim());
    assertEquals(ToyWorld.DEFAULT_TEMPLATES, toy.components());
    assertEquals(ToyModelFactory.DEFAULT_BETA, toy.beta());
    assertEquals(ToyModelFactory.DEFAULT_NOISE_STD, toy.noiseStd());
    assertEquals(ToyWorld.DEFAULT_SEED, toy.world().seed());
    assertTrue(toy.hasVjp());
    assertEquals("two blue squares and one red circle", toy.prompt().toString());
  }

  @Test
  void aLoadedToyModelIsConditionedPerPromptAndCachesEachPrompt() {
    try (FlowModel loaded = Factories.model("toy").load(Map.of("n_templates", 400L))) {
      assertEquals(ToyWorld.DIM, loaded.dim());
      VelocityModel a = loaded.condition("one red circle");
      VelocityModel b = loaded.condition("two blue squares");
      assertSame(a, loaded.condition("one red circle"), "a prompt is conditioned once");
      assertEquals("one red circle", ((ToyModel) a).prompt().toString());
      assertEquals("two blue squares", ((ToyModel) b).prompt().toString());
      assertSame(((ToyModel) a).world(), ((ToyModel) b).world(), "the templates are shared");
      assertMessage("unknown colour 'purple'", () -> loaded.condition("one purple circle"));
    }
  }

  @Test
  void toyModelSettingsAreReadAndValidatedByKey() {
    ToyModel m =
        (ToyModel)
            Factories.model("toy")
                .load(
                    Map.of("template_seed", 9L, "n_templates", 400L, "noise_std", 0.1, "beta", 3L))
                .condition(null);
    assertEquals(9, m.world().seed());
    assertEquals(400, m.components());
    assertEquals(0.1, m.noiseStd());
    assertEquals(3.0, m.beta());
    assertEquals(null, m.prompt());
    var f = Factories.model("toy");
    assertMessage("n_templates must be in [336", () -> f.create(Map.of("n_templates", 100L), null));
    assertMessage(
        "n_templates must be an integer", () -> f.create(Map.of("n_templates", 400.5), null));
    assertMessage("noise_std must be in (0.0", () -> f.create(Map.of("noise_std", 0.0), null));
    assertMessage("beta must be a finite number", () -> f.create(Map.of("beta", "high"), null));
    assertMessage("beta must be in [0.0", () -> f.create(Map.of("beta", -1.0), null));
    assertMessage("unknown setting 'betta'", () -> f.create(Map.of("betta", 1.0), null));
    assertMessage(
        "unknown colour 'purple' at word 2", () -> f.create(Map.of(), "one purple circle"));
    assertEquals(
        400,
        ((ToyModel) f.load(Map.of("n_templates", 400.0)).condition(null)).components(),
        "400.0 is 400");
  }

  @Test
  void rewardsAreFoundByName() {
    String prompt = "one red circle";
    VelocityModel model = Factories.model("toy").create(Map.of(), prompt);
    for (String name : new String[] {"counting", "compositional", "aesthetic"}) {
      RewardFactory f = Factories.reward(name);
      try (Reward r = f.create(name, Map.of(), prompt, model)) {
        assertEquals(name, r.name());
        assertEquals(name.equals("aesthetic"), r.differentiable());
      }
    }
    RewardFactory f = Factories.reward("counting");
    assertMessage("needs a prompt", () -> f.create("counting", Map.of(), null, model));
    assertMessage("needs a prompt", () -> f.create("compositional", Map.of(), null, model));
    assertMessage(
        "unknown setting 'scale'", () -> f.create("aesthetic", Map.of("scale", 1L), null, null));
    assertMessage(
        "impossible count '9'", () -> f.create("counting", Map.of(), "9 red circles", model));
    assertMessage(
        "but the model has 4",
        () -> f.create("aesthetic", Map.of(), null, new GaussianModel(new float[4], 1)));
    assertMessage("unknown reward_score 'clip'", () -> f.create("clip", Map.of(), null, model));
  }
}
