package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PromptTest {

  @Test
  void parsesFactsInOrder() {
    Prompt p = Prompt.parse("two blue squares and one red circle");
    assertEquals(
        List.of(
            new Prompt.Fact(2, new Kind(Colour.BLUE, Shape.SQUARE)),
            new Prompt.Fact(1, new Kind(Colour.RED, Shape.CIRCLE))),
        p.facts());
    assertEquals("two blue squares and one red circle", p.toString());
  }

  @Test
  void acceptsDigitsCaseAndExtraSpaces() {
    Prompt p = Prompt.parse("  6 Yellow TRIANGLES ");
    assertEquals(List.of(new Prompt.Fact(6, new Kind(Colour.YELLOW, Shape.TRIANGLE))), p.facts());
    assertEquals("six yellow triangles", p.toString());
    assertEquals(p, Prompt.parse(p.toString()));
  }

  @Test
  void matchIsTheFractionOfFactsThatHoldExactly() {
    Prompt p = Prompt.parse("two blue squares and one red circle");
    int[] counts = new int[Kind.COUNT];
    assertEquals(0.0, p.match(counts));
    counts[new Kind(Colour.BLUE, Shape.SQUARE).index()] = 2;
    assertEquals(0.5, p.match(counts));
    counts[new Kind(Colour.RED, Shape.CIRCLE).index()] = 1;
    assertEquals(1.0, p.match(counts));
    counts[new Kind(Colour.RED, Shape.CIRCLE).index()] = 2;
    assertEquals(0.5, p.match(counts));
    counts[new Kind(Colour.GREEN, Shape.CIRCLE).index()] = 3;
    assertEquals(0.5, p.match(counts), "kinds the prompt does not name do not matter");
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "''| prompt is empty",
        "'   '| prompt is empty",
        "two purple squares| unknown colour 'purple' at word 2",
        "two blue hexagons| unknown shape 'hexagons' at word 3",
        "seven red circles| unknown count 'seven' at word 1",
        "zero red circles| impossible count 'zero' at word 1",
        "7 red circles| impossible count '7' at word 1",
        "0 red circles| impossible count '0' at word 1",
        "99999999999 red circles| impossible count '99999999999' at word 1",
        "red circles| unknown count 'red' at word 1",
        "two blue| prompt ends after 'blue' at word 2: expected a shape",
        "two| prompt ends after 'two' at word 1: expected a colour",
        "two blue squares and| prompt ends with 'and' at word 4",
        "two blue squares, one red circle| unknown shape 'squares,' at word 3",
        "two blue squares with one red circle| unexpected word 'with' at word 4",
        "two blue square| 'square' at word 3 does not agree with the count two: write 'squares'",
        "one red circles| 'circles' at word 3 does not agree with the count one: write 'circle'",
        "one red circle and two red circles| 'red circles' at words 6-7 names a kind already"
            + " counted at word 1",
        "four red circles and three blue squares| count 'three' at word 5 brings the total to 7",
        "and one red circle| unknown count 'and' at word 1",
      })
  void rejectsMalformedPromptsNamingTheWordAndPosition(String text, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Prompt.parse(text));
    assertTrue(
        e.getMessage().contains(expected),
        () -> "message \"" + e.getMessage() + "\" should contain \"" + expected + "\"");
  }

  @Test
  void nullPromptIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Prompt.parse(null));
  }
}
