package org.flowscale.engine.model;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.TreeSet;

/** Looks model and reward factories up by config name. */
public final class Factories {
  private Factories() {}

  public static ModelFactory model(String name) {
    List<String> known = new ArrayList<>();
    for (ModelFactory f : ServiceLoader.load(ModelFactory.class)) {
      if (f.name().equals(name)) {
        return f;
      }
      known.add(f.name());
    }
    throw new IllegalArgumentException("unknown model '" + name + "': available are " + known);
  }

  public static RewardFactory reward(String name) {
    TreeSet<String> known = new TreeSet<>();
    for (RewardFactory f : ServiceLoader.load(RewardFactory.class)) {
      if (f.names().contains(name)) {
        return f;
      }
      known.addAll(f.names());
    }
    throw new IllegalArgumentException(
        "unknown reward_score '" + name + "': available are " + known);
  }
}
