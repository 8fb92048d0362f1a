package org.flowscale.engine.toy;

import java.util.List;

/**
 * A VQAScore stand-in in [0, 1]: the soft fraction of the prompt's facts that hold, where a fact
 * "exactly n objects of kind c" holds with the probability that exactly n detections are of kind c
 * when each detection is one with its detector confidence ({@link Detector#probabilityOfCount}). A
 * polynomial in the confidences, so it moves smoothly with the pixels; about 0.99 per fact on a
 * clean image that satisfies it.
 */
public final class CompositionalReward extends ImageReward {
  private final Prompt prompt;

  /** A compositional reward for the prompt's facts. */
  public CompositionalReward(Prompt prompt) {
    if (prompt == null) {
      throw new IllegalArgumentException("the compositional reward needs a prompt");
    }
    this.prompt = prompt;
  }

  @Override
  public String name() {
    return "compositional";
  }

  @Override
  double scoreImage(float[] x, int offset) {
    List<Detector.Detection> found = Detector.detect(x, offset);
    double s = 0;
    for (Prompt.Fact f : prompt.facts()) {
      s += Detector.probabilityOfCount(found, f.kind(), f.count());
    }
    return s / prompt.facts().size();
  }
}
