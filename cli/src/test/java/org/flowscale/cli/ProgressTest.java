package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProgressTest {
  @Test
  void linesAppearAtEveryTenthOnce() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
        Progress p = Progress.create(Progress.Mode.LINES, err, 500)) {
      for (long nfe = 1; nfe <= 498; nfe++) {
        p.onProgress(nfe, 500);
      }
      p.finish(498);
    }
    String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
    assertEquals(10, lines.length, String.join("\n", lines));
    assertTrue(lines[0].startsWith("flowscale: NFE 50/500 (10%)"), lines[0]);
    assertTrue(lines[9].startsWith("flowscale: NFE 498/500 (99%)"), lines[9]);
  }

  @Test
  void theBarDrawsTheBudget() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
      try (Progress p = Progress.create(Progress.Mode.BAR, err, 200)) {
        p.onProgress(100, 200);
        p.finish(200);
      }
    }
    String s = buf.toString(StandardCharsets.UTF_8);
    assertTrue(s.contains("NFE") && s.contains("200/200"), s);
  }

  @Test
  void noneIsSilent() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
        Progress p = Progress.create(Progress.Mode.NONE, err, 10)) {
      p.onProgress(10, 10);
      p.finish(10);
    }
    assertEquals(0, buf.size());
  }
}
