package org.flowscale.engine.toy;

import java.util.Locale;

/** The three object shapes of the toy world; triangles point up. */
public enum Shape {
  CIRCLE,
  SQUARE,
  TRIANGLE;

  /** The singular prompt word ({@code circle}). */
  public String word() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The plural prompt word ({@code circles}). */
  public String plural() {
    return word() + "s";
  }

  /** The shape a singular or plural prompt word names, or null. */
  static Shape byWord(String word) {
    for (Shape s : values()) {
      if (s.word().equals(word) || s.plural().equals(word)) {
        return s;
      }
    }
    return null;
  }

  /**
   * Whether pixel {@code (col, row)} of a {@code size x size} box belongs to the shape. Pixel
   * centres are tested, so the masks are crisp (no anti-aliasing) and the detector can recover them
   * exactly.
   */
  boolean covers(int col, int row, int size) {
    double half = size / 2.0;
    double dx = col + 0.5 - half;
    double dy = row + 0.5 - half;
    return switch (this) {
      case SQUARE -> true;
      case CIRCLE -> dx * dx + dy * dy <= half * half;
      // The half-width grows from the apex row to the full base; using the row's lower edge keeps
      // the apex two pixels wide, so it does not vanish for small sizes.
      case TRIANGLE -> Math.abs(dx) <= (row + 1.0) / size * half;
    };
  }
}
