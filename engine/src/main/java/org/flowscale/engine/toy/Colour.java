package org.flowscale.engine.toy;

import java.util.Locale;

/**
 * The four object colours of the toy world, as RGB in [-1, 1]. They are far apart from each other
 * and from the background (the closest pair, red and yellow, differ by 1.6 in green), so a
 * nearest-colour segmentation survives per-pixel noise of several tenths.
 */
public enum Colour {
  RED(0.9f, -0.7f, -0.7f),
  GREEN(-0.7f, 0.8f, -0.7f),
  BLUE(-0.6f, -0.5f, 0.9f),
  YELLOW(0.9f, 0.9f, -0.7f);

  /** The background colour: a dark, slightly blue grey. */
  public static final float[] BACKGROUND = {-0.85f, -0.85f, -0.8f};

  private final float[] rgb;

  Colour(float r, float g, float b) {
    this.rgb = new float[] {r, g, b};
  }

  /** Channel {@code c} (0 red, 1 green, 2 blue) in [-1, 1]. */
  public float channel(int c) {
    return rgb[c];
  }

  /** The prompt word ({@code red}). */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The colour a prompt word names, or null. */
  static Colour byWord(String word) {
    for (Colour c : values()) {
      if (c.word().equals(word)) {
        return c;
      }
    }
    return null;
  }
}
