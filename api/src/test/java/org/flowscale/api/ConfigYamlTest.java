package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigYamlTest {
  @Test
  void valuesAreTypedByTheCoreRules() {
    assertEquals(3L, ConfigYaml.parseValue("3"));
    assertEquals(-3L, ConfigYaml.parseValue("-3"));
    assertEquals(1000L, ConfigYaml.parseValue("1_000"));
    assertEquals(2.5, ConfigYaml.parseValue("2.5"));
    assertEquals(1e-3, ConfigYaml.parseValue("1e-3"));
    assertEquals(1.0e-5, ConfigYaml.parseValue("1.0E-5"));
    assertEquals(3.0, ConfigYaml.parseValue("3."));
    assertEquals(Double.POSITIVE_INFINITY, ConfigYaml.parseValue(".inf"));
    assertTrue(Double.isNaN((Double) ConfigYaml.parseValue(".nan")));
    assertEquals(true, ConfigYaml.parseValue("true"));
    assertEquals(false, ConfigYaml.parseValue("False"));
    assertNull(ConfigYaml.parseValue("null"));
    assertNull(ConfigYaml.parseValue("~"));
    assertNull(ConfigYaml.parseValue(""));
    assertEquals(List.of(1L, 2L), ConfigYaml.parseValue("[1, 2]"));
    assertEquals(List.of("a", 2.5), ConfigYaml.parseValue("[a, 2.5]"));
    assertEquals(
        new BigInteger("99999999999999999999"), ConfigYaml.parseValue("99999999999999999999"));
  }

  @Test
  void whatLooksLikeTextStaysText() {
    // YAML 1.1 would turn these into booleans, octal, hex or dates.
    for (String s : List.of("yes", "no", "on", "off", "0x1F", "2024-01-01", "1:20", "abc", "e5")) {
      assertEquals(s, ConfigYaml.parseValue(s), s);
    }
    assertEquals(10L, ConfigYaml.parseValue("010"), "decimal, not octal");
    assertEquals("two red circles", ConfigYaml.parseValue("two red circles"));
    assertEquals("3", ConfigYaml.parseValue("'3'"));
    assertEquals("#3", ConfigYaml.parseValue("#3"), "not swallowed as a comment");
  }

  @Test
  void unreadableValuesAreRefusedWithYamlsReason() {
    var e = assertThrows(IllegalArgumentException.class, () -> ConfigYaml.parseValue("[1, 2"));
    assertTrue(e.getMessage().startsWith("cannot read the value"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ConfigYaml.parseValue("'open"));
    assertThrows(IllegalArgumentException.class, () -> ConfigYaml.parseValue("*undefined"));
    assertThrows(IllegalArgumentException.class, () -> ConfigYaml.parseValue("!!int abc"));
    assertThrows(
        IllegalArgumentException.class, () -> ConfigYaml.parseValue("!!java.io.File /etc"));
  }

  @Test
  void brokenDocumentsNameTheLineAndColumn() {
    var e =
        assertThrows(
            ConfigurationException.class,
            () -> ConfigYaml.loadDocument("seed: 1\nmax_nfe: [1,\n  bad: : x\n", "c.yaml"));
    assertTrue(e.getMessage().startsWith("c.yaml: broken YAML at line "), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
  }

  @Test
  void duplicateKeysAreRefused() {
    var e =
        assertThrows(
            ConfigurationException.class,
            () -> ConfigYaml.loadDocument("seed: 1\nseed: 2\n", "c.yaml"));
    assertTrue(e.getMessage().contains("duplicate key seed"), e.getMessage());
  }

  @Test
  void aDocumentMustBeAMappingOfNames() {
    assertEquals(Map.of(), ConfigYaml.loadDocument("# only a comment\n", "c"));
    var list =
        assertThrows(ConfigurationException.class, () -> ConfigYaml.loadDocument("- a\n", "c"));
    assertTrue(list.getMessage().contains("mapping"), list.getMessage());
    var numberKey =
        assertThrows(ConfigurationException.class, () -> ConfigYaml.loadDocument("1: a\n", "c"));
    assertTrue(numberKey.getMessage().contains("names"), numberKey.getMessage());
  }

  @Test
  void aliasBombsAreRefused() {
    StringBuilder b = new StringBuilder("a: &a [x,x,x,x,x,x,x,x,x]\n");
    for (int i = 0; i < 12; i++) {
      char prev = (char) ('a' + i);
      char next = (char) ('b' + i);
      String refs = String.join(",", java.util.Collections.nCopies(9, "*" + prev));
      b.append(next).append(": &").append(next).append(" [").append(refs).append("]\n");
    }
    assertThrows(ConfigurationException.class, () -> ConfigYaml.loadDocument(b.toString(), "bomb"));
  }

  @Test
  void dumpReadsBackToEqualValues() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("text_prompt", "two red circles: and more");
    m.put("looks_numeric", "3");
    m.put("looks_bool", "true");
    m.put("looks_null", "null");
    m.put("max_nfe", 500L);
    m.put("norm", 3.0);
    m.put("tiny", 1e-7);
    m.put("inf", Double.NEGATIVE_INFINITY);
    m.put("flag", false);
    m.put("none", null);
    m.put("list", Arrays.asList(1L, "b", 2.5));
    Map<String, Object> back = ConfigYaml.loadDocument(ConfigYaml.dump(m), "dump");
    assertEquals(m, back);
  }
}
