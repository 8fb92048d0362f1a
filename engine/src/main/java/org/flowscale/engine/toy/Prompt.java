package org.flowscale.engine.toy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A parsed toy-world prompt: facts {@code <count> <colour> <shape>} joined by {@code and}, e.g.
 * {@code two blue squares and one red circle}. Counts are {@code one}..{@code six} or the digits
 * 1..6; the shape word is singular after one and plural otherwise; words are case-insensitive and
 * separated by white space. A kind may be named once, and the counts add up to at most six (the
 * most objects an image holds).
 *
 * @param facts the facts in prompt order, at least one
 */
public record Prompt(List<Fact> facts) {

  /** One fact: exactly {@code count} objects of {@code kind}. */
  public record Fact(int count, Kind kind) {
    public Fact {
      if (count < 1 || count > ToyWorld.MAX_OBJECTS) {
        throw new IllegalArgumentException(
            "count must be in 1.." + ToyWorld.MAX_OBJECTS + ", got " + count);
      }
      if (kind == null) {
        throw new IllegalArgumentException("kind must not be null");
      }
    }

    @Override
    public String toString() {
      return NUMBERS[count]
          + " "
          + kind.colour().word()
          + " "
          + (count == 1 ? kind.shape().word() : kind.shape().plural());
    }
  }

  private static final String[] NUMBERS = {"zero", "one", "two", "three", "four", "five", "six"};
  private static final String EXAMPLE = "e.g. 'two blue squares and one red circle'";

  public Prompt {
    if (facts == null || facts.isEmpty()) {
      throw new IllegalArgumentException("a prompt needs at least one fact");
    }
    facts = List.copyOf(facts);
  }

  /**
   * Parses a prompt.
   *
   * @throws IllegalArgumentException naming the offending word and its position (1-based)
   */
  public static Prompt parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("prompt is empty: expected facts like " + EXAMPLE);
    }
    String[] words = text.trim().toLowerCase(Locale.ROOT).split("\\s+");
    List<Fact> facts = new ArrayList<>();
    int[] firstMention = new int[Kind.COUNT];
    int total = 0;
    int i = 0;
    while (true) {
      int countAt = i;
      int count = count(text, words, i++);
      Colour colour = colour(text, words, i++);
      Shape shape = shape(text, words, i, count);
      i++;
      Kind kind = new Kind(colour, shape);
      if (firstMention[kind.index()] != 0) {
        throw error(
            text,
            "'"
                + words[i - 2]
                + " "
                + words[i - 1]
                + "' at words "
                + (i - 1)
                + "-"
                + i
                + " names a kind already counted at word "
                + firstMention[kind.index()]
                + "; say each kind once");
      }
      firstMention[kind.index()] = countAt + 1;
      total += count;
      if (total > ToyWorld.MAX_OBJECTS) {
        throw error(
            text,
            "count '"
                + words[countAt]
                + "' at word "
                + (countAt + 1)
                + " brings the total to "
                + total
                + " objects; an image holds at most "
                + ToyWorld.MAX_OBJECTS);
      }
      facts.add(new Fact(count, kind));
      if (i == words.length) {
        return new Prompt(facts);
      }
      if (!words[i].equals("and")) {
        throw error(
            text,
            "unexpected word '"
                + words[i]
                + "' at word "
                + (i + 1)
                + ": expected 'and' or the end");
      }
      i++;
      if (i == words.length) {
        throw error(text, "prompt ends with 'and' at word " + i + ": expected another fact");
      }
    }
  }

  private static int count(String text, String[] words, int i) {
    String w = words[i];
    for (int n = 0; n < NUMBERS.length; n++) {
      if (NUMBERS[n].equals(w)) {
        return checkedCount(text, w, i, n);
      }
    }
    if (w.matches("[0-9]+")) {
      int n = w.length() > 3 ? Integer.MAX_VALUE : Integer.parseInt(w);
      return checkedCount(text, w, i, n);
    }
    throw error(
        text,
        "unknown count '"
            + w
            + "' at word "
            + (i + 1)
            + ": expected one..six or 1.."
            + ToyWorld.MAX_OBJECTS);
  }

  private static int checkedCount(String text, String w, int i, int n) {
    if (n < 1 || n > ToyWorld.MAX_OBJECTS) {
      throw error(
          text,
          "impossible count '"
              + w
              + "' at word "
              + (i + 1)
              + ": an image holds 1 to "
              + ToyWorld.MAX_OBJECTS
              + " objects of a kind");
    }
    return n;
  }

  private static Colour colour(String text, String[] words, int i) {
    if (i >= words.length) {
      throw error(
          text,
          "prompt ends after '"
              + words[i - 1]
              + "' at word "
              + i
              + ": expected a colour (red, green, blue or yellow)");
    }
    Colour c = Colour.byWord(words[i]);
    if (c == null) {
      throw error(
          text,
          "unknown colour '"
              + words[i]
              + "' at word "
              + (i + 1)
              + ": expected red, green, blue or yellow");
    }
    return c;
  }

  private static Shape shape(String text, String[] words, int i, int count) {
    if (i >= words.length) {
      throw error(
          text,
          "prompt ends after '"
              + words[i - 1]
              + "' at word "
              + i
              + ": expected a shape (circle, square or triangle)");
    }
    String w = words[i];
    Shape s = Shape.byWord(w);
    if (s == null) {
      throw error(
          text,
          "unknown shape '"
              + w
              + "' at word "
              + (i + 1)
              + ": expected circle, square or triangle (plural after counts above one)");
    }
    String want = count == 1 ? s.word() : s.plural();
    if (!w.equals(want)) {
      throw error(
          text,
          "'"
              + w
              + "' at word "
              + (i + 1)
              + " does not agree with the count "
              + words[i - 2]
              + ": write '"
              + want
              + "'");
    }
    return s;
  }

  private static IllegalArgumentException error(String text, String message) {
    return new IllegalArgumentException("prompt \"" + text.strip() + "\": " + message);
  }

  /**
   * How well a composition (objects per kind, by {@link Kind#index()}) matches: the fraction of
   * facts whose count holds exactly, in [0, 1].
   */
  public double match(int[] counts) {
    if (counts == null || counts.length != Kind.COUNT) {
      throw new IllegalArgumentException("counts must have " + Kind.COUNT + " entries");
    }
    int holds = 0;
    for (Fact f : facts) {
      if (counts[f.kind().index()] == f.count()) {
        holds++;
      }
    }
    return (double) holds / facts.size();
  }

  /** The canonical text, e.g. {@code two blue squares and one red circle}. */
  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    for (Fact f : facts) {
      parts.add(f.toString());
    }
    return String.join(" and ", parts);
  }
}
