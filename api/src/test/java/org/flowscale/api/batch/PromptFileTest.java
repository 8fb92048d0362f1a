package org.flowscale.api.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flowscale.api.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading prompt files: plain text and JSON Lines, and refusing bad ones with the line. */
class PromptFileTest {
  @TempDir Path tmp;

  private Path file(String name, String text) throws Exception {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  private String refusal(Path p) {
    return assertThrows(ConfigurationException.class, () -> PromptFile.read(p)).getMessage();
  }

  @Test
  void plainTextIsOnePromptALineSkippingBlankAndCommentLines() throws Exception {
    PromptFile f =
        PromptFile.read(file("p.txt", "two red circles\n\n# a comment\n  one blue square  \n"));
    assertFalse(f.jsonLines());
    assertEquals(2, f.lines().size());
    assertEquals(new PromptFile.Line(1, "two red circles", java.util.Map.of()), f.lines().get(0));
    assertEquals(4, f.lines().get(1).number(), "line numbers count every line");
    assertEquals("one blue square", f.lines().get(1).prompt());
  }

  @Test
  void jsonLinesCarryOverridesAndAreRecognisedByTheirFirstLine() throws Exception {
    PromptFile f =
        PromptFile.read(
            file(
                "p.prompts",
                "{\"text_prompt\": \"two red circles\", \"seed\": 3, \"max_nfe\": 200}\n\n"
                    + "{\"text_prompt\": \"one blue square\"}\n"));
    assertTrue(f.jsonLines());
    assertEquals(List.of("seed", "max_nfe"), List.copyOf(f.lines().get(0).overrides().keySet()));
    assertEquals(200, f.lines().get(0).overrides().get("max_nfe").asLong());
    assertEquals(3, f.lines().get(1).number());
    assertTrue(f.lines().get(1).overrides().isEmpty());
  }

  @Test
  void emptyFilesAreRefused() throws Exception {
    String empty = refusal(file("empty.txt", ""));
    assertTrue(empty.contains("empty.txt' is empty"), empty);
    String comments = refusal(file("c.txt", "# only\n\n"));
    assertTrue(comments.contains("holds no prompts"), comments);
    String missing = refusal(tmp.resolve("nope.txt"));
    assertTrue(missing.endsWith("does not exist"), missing);
  }

  @Test
  void aBadJsonLineIsRefusedWithItsNumber() throws Exception {
    String m =
        refusal(
            file("p.jsonl", "{\"text_prompt\": \"two red circles\"}\n{\"text_prompt\": \"x\",}\n"));
    assertTrue(
        m.startsWith("prompts file '" + tmp.resolve("p.jsonl") + "', line 2: not valid JSON"), m);
  }

  @Test
  void everyBadLineIsNamed() throws Exception {
    String m =
        refusal(
            file(
                "p.jsonl",
                "{\"seed\": 1}\n[1, 2]\n{\"text_prompt\": \"\"}\n{\"text_prompt\": \"ok\"}\n"
                    + "{\"text_prompt\": \"a\", \"text_prompt\": \"b\"}\n"));
    assertTrue(m.startsWith("4 bad lines in prompts file"), m);
    assertTrue(m.contains("line 1: text_prompt is missing"), m);
    assertTrue(m.contains("line 2: expected a JSON object"), m);
    assertTrue(m.contains("line 3: text_prompt must be non-empty text"), m);
    assertTrue(m.contains("line 5: not valid JSON: Duplicate field 'text_prompt'"), m);
  }

  @Test
  void notUtf8IsRefused() throws Exception {
    Path p = tmp.resolve("latin1.txt");
    Files.write(p, new byte[] {'a', (byte) 0xe9, '\n'});
    assertTrue(refusal(p).endsWith("is not UTF-8 text"));
  }
}
