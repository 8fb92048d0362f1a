package org.flowscale.engine.toy;

import java.util.List;

/**
 * The quantity-aware reward: {@code -sum_c (count_c - target_c)^2} over the prompt's kinds, with
 * counts from the {@link Detector} (never from a template index), in expectation over the
 * detector's uncertainty: each detection is an object of kind {@code c} with its probability, so
 * the reward is {@code -sum_c ((E[count_c] - target_c)^2 + Var[count_c])}.
 *
 * <p>On a clean image every confidence is 0 or 1 and this is the hard count's reward, zero exactly
 * when every count holds. On a blurred or faint image (an early Tweedie estimate, a blend of
 * templates) faint objects count in part, so the reward moves smoothly with the image instead of
 * staying flat until the content is decided; the variance term keeps a blend from scoring better
 * than the clean images it mixes merely because its expected counts average out.
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
    List<Detector.Detection> found = Detector.detect(x, offset);
    double s = 0;
    for (Prompt.Fact f : prompt.facts()) {
      double e = Detector.expectedCount(found, f.kind()) - f.count();
      s -= e * e + Detector.countVariance(found, f.kind());
    }
    return s;
  }
}
