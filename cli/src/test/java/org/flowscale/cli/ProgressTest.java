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

  /** Issue 14: max_nfe=1e12 ran silently until killed. */
  @Test
  void aLongRunSaysHowLongOnceAfterItsFirstRound() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    long[] now = {0};
    long max = 1_000_000_000_000L;
    try (PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
        Progress p = new Progress.Lines(err, max, () -> now[0])) {
      now[0] += 30_000_000_000L; // the first round (setup) is not measured
      p.onProgress(50, max);
      now[0] += 1_000_000_000L; // warming up
      p.onProgress(100, max);
      now[0] += 1_000_000_000L; // measured from here
      p.onProgress(102, max);
      now[0] += 500_000_000L; // too early to tell
      p.onProgress(104, max);
      now[0] += 500_000_000L; // 4 NFE in 1 s
      p.onProgress(106, max);
      now[0] += 1_000_000_000L; // said once only
      p.onProgress(110, max);
    }
    String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
    assertEquals(1, lines.length, buf.toString(StandardCharsets.UTF_8));
    assertEquals(
        "flowscale: at this pace the rest of the 1000000000000 NFE takes about 7.92e+03 years"
            + " (Ctrl-C stops it and keeps the best sample so far)",
        lines[0]);
  }

  @Test
  void aShortRunGetsNoEstimate() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    long[] now = {0};
    try (PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
        Progress p = new Progress.Lines(err, 1000, () -> now[0])) {
      for (long nfe = 1; nfe <= 10; nfe++) {
        now[0] += 400_000_000L;
        p.onProgress(nfe, 1000); // 2.5 NFE/s: 6.6 minutes in all, said once
      }
      for (long nfe = 11; nfe <= 50; nfe++) {
        p.onProgress(nfe, 1000);
      }
    }
    String s = buf.toString(StandardCharsets.UTF_8);
    assertEquals(1, s.split("takes about").length - 1, s);
    assertTrue(s.contains("takes about 7 min"), s);
    assertEquals("45 s", Progress.duration(45));
    assertEquals("3 h 20 min", Progress.duration(12_000));
    assertTrue(Progress.estimateLine(59, 100) == null);
  }
}
