package org.flowscale.engine.toy;

import java.util.Map;
import java.util.Set;
import org.flowscale.engine.model.FactorySettings;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleSpace;

/**
 * The toy world's rewards: {@code counting} and {@code compositional} (which need a prompt) and
 * {@code aesthetic} (which ignores it). They take no settings. They judge 32x32 RGB images, so the
 * model, when given, must have {@value ToyWorld#DIM} values per particle.
 */
public final class ToyRewardFactory implements RewardFactory {
  private static final Set<String> NAMES = Set.of("counting", "compositional", "aesthetic");

  @Override
  public Set<String> names() {
    return NAMES;
  }

  @Override
  public Set<String> keys() {
    return Set.of();
  }

  @Override
  public RewardModel load(String name, Map<String, Object> settings, SampleSpace model) {
    if (name == null || !NAMES.contains(name)) {
      throw new IllegalArgumentException(
          "unknown reward_score '"
              + name
              + "': this factory serves "
              + new java.util.TreeSet<>(NAMES));
    }
    FactorySettings.checkKeys(settings, keys(), "reward '" + name + "'");
    if (model != null && model.dim() != ToyWorld.DIM) {
      throw new IllegalArgumentException(
          "reward '"
              + name
              + "' judges 32x32 RGB images ("
              + ToyWorld.DIM
              + " values), but the model has "
              + model.dim());
    }
    return new RewardModel() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public boolean differentiable() {
        return name.equals("aesthetic");
      }

      @Override
      public Reward condition(String prompt) {
        return switch (name) {
          case "aesthetic" -> new AestheticReward();
          case "counting" -> new CountingReward(Prompt.parse(requirePrompt(name, prompt)));
          default -> new CompositionalReward(Prompt.parse(requirePrompt(name, prompt)));
        };
      }

      @Override
      public void close() {}
    };
  }

  private static String requirePrompt(String name, String prompt) {
    if (prompt == null) {
      throw new IllegalArgumentException("reward '" + name + "' needs a prompt");
    }
    return prompt;
  }
}
