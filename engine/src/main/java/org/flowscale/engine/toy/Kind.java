package org.flowscale.engine.toy;

/** An object class of the toy world: a colour and a shape ({@code blue square}). */
public record Kind(Colour colour, Shape shape) {
  /** Number of kinds: 4 colours x 3 shapes. */
  public static final int COUNT = Colour.values().length * Shape.values().length;

  public Kind {
    if (colour == null || shape == null) {
      throw new IllegalArgumentException("colour and shape must not be null");
    }
  }

  /** A dense index in [0, {@link #COUNT}). */
  public int index() {
    return colour.ordinal() * Shape.values().length + shape.ordinal();
  }

  /** The kind of a dense index. */
  public static Kind of(int index) {
    if (index < 0 || index >= COUNT) {
      throw new IllegalArgumentException("kind index must be in [0, " + COUNT + "), got " + index);
    }
    int n = Shape.values().length;
    return new Kind(Colour.values()[index / n], Shape.values()[index % n]);
  }

  @Override
  public String toString() {
    return colour.word() + " " + shape.word();
  }
}
