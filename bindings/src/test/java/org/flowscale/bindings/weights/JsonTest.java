package org.flowscale.bindings.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  @Test
  void parsesValues() {
    assertEquals(
        Map.of("a", List.of(1L, -2L, 2.5, 1e3), "b", "x\"\\/\n\u00e9", "c", true, "d", false),
        Json.parse(
            " {\"a\":[1,-2,2.5,1E3],\"b\":\"x\\\"\\\\\\/\\n\\u00e9\",\"c\":true,\"d\":false} "));
    assertEquals(null, Json.parse("null"));
    assertEquals(Map.of(), Json.parse("{}"));
    assertEquals(List.of(), Json.parse("[ ]"));
    assertEquals(9.3e18, (Double) Json.parse("9300000000000000000"), 1e6); // beyond long
  }

  @Test
  void refusesBadJsonSayingWhere() {
    for (String bad :
        List.of(
            "",
            "{",
            "{\"a\"}",
            "{\"a\":1,}",
            "[1 2]",
            "01",
            "1.",
            "\"\\q\"",
            "tru",
            "{} x",
            "{\"a\":1,\"a\":2}",
            "\"a\nb\"",
            "-",
            "[".repeat(100))) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
      assertTrue(e.getMessage().contains("at character"), e.getMessage());
    }
  }
}
