package org.flowscale.engine.toy;

/**
 * The quantity-aware reward: {@code -sum_c (count_c - target_c)^2} over the prompt's kinds, with
 * counts from the {@link Detector} (never from a template index). Zero exactly when every count
 * holds.
 */
public final class CountingReward extends ImageReward {
  private final Prompt prompt;

  /** A counting reward for the prompt's facts. */
  public CountingReward(Prompt prompt) {
    if (prompt == null) {
      throw new IllegalArgumentException("the counting reward needs a prompt");
    }
    this.prompt = prompt;
  }

  @Override
  public String name() {
    return "counting";
  }

  @Override
  double scoreImage(float[] x, int offset) {
    int[] counts = Detector.counts(Detector.detect(x, offset));
    double s = 0;
    for (Prompt.Fact f : prompt.facts()) {
      double e = counts[f.kind().index()] - f.count();
      s -= e * e;
    }
    return s;
  }
}
